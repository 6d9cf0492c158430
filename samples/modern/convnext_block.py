"""ConvNeXt-style blocks: depthwise 7x7 convolution, LayerNorm, an inverted MLP, and the
``LayerScale`` and ``StochasticDepth`` layers, defined here as subclassed layers."""

import keras
from keras import layers, ops


class LayerScale(layers.Layer):
    """Multiplies its input by a learned per-channel scale, initialised small."""

    def __init__(self, init_value, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_value = init_value
        self.projection_dim = projection_dim

    def build(self, input_shape):
        self.gamma = self.add_weight(
            shape=(self.projection_dim,),
            initializer=keras.initializers.Constant(self.init_value),
            trainable=True,
            name="gamma",
        )

    def call(self, x):
        return x * self.gamma


class StochasticDepth(layers.Layer):
    """Drops the whole residual branch of a sample with probability ``drop_path_rate``."""

    def __init__(self, drop_path_rate, seed=1337, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if training:
            keep_prob = 1 - self.drop_path_rate
            shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
            random_tensor = keep_prob + keras.random.uniform(
                shape, 0, 1, seed=self.seed_generator
            )
            random_tensor = ops.floor(random_tensor)
            return (x / keep_prob) * random_tensor
        return x


def convnext_block(x, dim, drop_path_rate, layer_scale_init=1e-6):
    residual = x
    x = layers.DepthwiseConv2D(kernel_size=7, padding="same")(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    x = layers.Dense(4 * dim)(x)
    x = layers.Activation("gelu")(x)
    x = layers.Dense(dim)(x)
    x = LayerScale(layer_scale_init, dim)(x)
    x = StochasticDepth(drop_path_rate)(x)
    return layers.Add()([residual, x])


def build_convnext(input_shape=(64, 64, 3), dims=(32, 64), depths=(2, 2), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(dims[0], kernel_size=4, strides=4)(inputs)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    rates = [0.1 * i / (sum(depths) - 1) for i in range(sum(depths))]
    block = 0
    for stage, (dim, depth) in enumerate(zip(dims, depths)):
        if stage > 0:
            x = layers.LayerNormalization(epsilon=1e-6)(x)
            x = layers.Conv2D(dim, kernel_size=2, strides=2)(x)
        for _ in range(depth):
            x = convnext_block(x, dim, rates[block])
            block += 1
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name="convnext_small_demo")


model = build_convnext()
