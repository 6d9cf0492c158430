"""A siamese network: one encoder (a shared Conv2D and Dense) applied to two images."""
from keras import Model, layers

IMAGE = (96, 96, 1)

conv = layers.Conv2D(24, 5, strides=2, activation="relu", name="shared_conv")
embed = layers.Dense(64, activation="relu", name="shared_embed")


def encode(image):
    x = conv(image)
    x = layers.GlobalAveragePooling2D()(x)
    return embed(x)


left = layers.Input(shape=IMAGE, name="left")
right = layers.Input(shape=IMAGE, name="right")
distance = layers.Subtract(name="distance")([encode(left), encode(right)])
score = layers.Dense(1, activation="sigmoid", name="same")(distance)
model = Model(inputs=[left, right], outputs=score, name="siamese")
