"""A small Vision Transformer: patch extraction, a class token, position embeddings and
pre-norm transformer blocks, all as subclassed layers calling ``keras.ops``."""

import keras
from keras import layers, ops

IMAGE_SIZE = 32
PATCH_SIZE = 4
NUM_PATCHES = (IMAGE_SIZE // PATCH_SIZE) ** 2
PROJECTION_DIM = 64
NUM_HEADS = 4
DEPTH = 3
NUM_CLASSES = 10


class Patches(layers.Layer):
    """Cuts images into non-overlapping patches, one flattened patch per token."""

    def __init__(self, patch_size, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size

    def call(self, images):
        patches = ops.image.extract_patches(images, size=self.patch_size)
        _, rows, cols, depth = ops.shape(patches)
        return ops.reshape(patches, (-1, rows * cols, depth))


class PatchEncoder(layers.Layer):
    """Projects patches and adds a learned embedding of their position."""

    def __init__(self, num_patches, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_patches = num_patches
        self.projection = layers.Dense(projection_dim)
        self.position_embedding = layers.Embedding(num_patches, projection_dim)

    def call(self, patches):
        positions = ops.expand_dims(ops.arange(start=0, stop=self.num_patches, step=1), axis=0)
        return self.projection(patches) + self.position_embedding(positions)


class ClassToken(layers.Layer):
    """Prepends a learned class token to the sequence of patch tokens."""

    def build(self, input_shape):
        self.token = self.add_weight(
            shape=(1, 1, input_shape[-1]), initializer="zeros", name="token"
        )

    def call(self, tokens):
        cls = ops.zeros_like(tokens[:, :1, :]) + self.token
        return ops.concatenate([cls, tokens], axis=1)


class TransformerBlock(layers.Layer):
    """Pre-norm self-attention and MLP, each with a residual connection."""

    def __init__(self, dim, num_heads, mlp_ratio=2, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.norm1 = layers.LayerNormalization(epsilon=1e-6)
        self.attention = layers.MultiHeadAttention(
            num_heads=num_heads, key_dim=dim // num_heads, dropout=dropout
        )
        self.norm2 = layers.LayerNormalization(epsilon=1e-6)
        self.mlp = [
            layers.Dense(dim * mlp_ratio, activation=keras.activations.gelu),
            layers.Dropout(dropout),
            layers.Dense(dim),
            layers.Dropout(dropout),
        ]

    def call(self, x, training=False):
        h = self.norm1(x)
        x = x + self.attention(h, h, training=training)
        h = self.norm2(x)
        for layer in self.mlp:
            h = layer(h, training=training)
        return x + h


def build_vit():
    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = Patches(PATCH_SIZE)(x)
    x = PatchEncoder(NUM_PATCHES, PROJECTION_DIM)(x)
    x = ClassToken()(x)
    for _ in range(DEPTH):
        x = TransformerBlock(PROJECTION_DIM, NUM_HEADS)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    x = layers.Dense(NUM_CLASSES, activation="softmax")(x[:, 0])
    return keras.Model(inputs, x, name="vit")


model = build_vit()
