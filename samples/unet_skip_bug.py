"""A small U-Net with a classic bug: the decoder joins each skip at the wrong level.

The encoder halves the map three times. The decoder starts from the bottleneck and
upsamples once before its first skip, but it takes that skip from the level *above*
(1/2 resolution instead of 1/4), and the next one from the input level; both
concatenations fail whatever the input size is.
"""
from tensorflow import keras
from tensorflow.keras import layers


def double_conv(x, filters):
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.BatchNormalization()(x)


def build_unet(input_shape, n_classes=2):
    inputs = keras.Input(shape=input_shape)
    s1 = double_conv(inputs, 16)              # 1/1
    p1 = layers.MaxPooling2D()(s1)
    s2 = double_conv(p1, 32)                  # 1/2
    p2 = layers.MaxPooling2D()(s2)
    s3 = double_conv(p2, 64)                  # 1/4
    p3 = layers.MaxPooling2D()(s3)
    bottom = double_conv(p3, 128)             # 1/8

    u3 = layers.Conv2DTranspose(64, 2, strides=2, padding="same")(bottom)   # 1/4
    d3 = layers.concatenate([u3, s2])         # bug: s2 is 1/2, should be s3
    d3 = double_conv(d3, 64)
    u2 = layers.Conv2DTranspose(32, 2, strides=2, padding="same")(d3)       # 1/2
    d2 = layers.concatenate([u2, s1])         # bug: s1 is 1/1, should be s2
    d2 = double_conv(d2, 32)
    u1 = layers.Conv2DTranspose(16, 2, strides=2, padding="same")(d2)
    outputs = layers.Conv2D(n_classes, 1, activation="softmax")(u1)
    return keras.Model(inputs, outputs, name="unet_skip_bug")
