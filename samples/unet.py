"""The same U-Net with its skips taken at the right levels.

Three 2x2 poolings and three stride-2 transposed convolutions: the concatenations
match exactly when the input height and width are multiples of 8.
"""
from tensorflow import keras
from tensorflow.keras import layers


def double_conv(x, filters):
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.BatchNormalization()(x)


def build_unet(input_shape, n_classes=2):
    inputs = keras.Input(shape=input_shape)
    skips = []
    x = inputs
    for filters in (16, 32, 64):
        x = double_conv(x, filters)
        skips.append(x)
        x = layers.MaxPooling2D()(x)
    x = double_conv(x, 128)
    for filters, skip in zip((64, 32, 16), reversed(skips)):
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same")(x)
        x = layers.concatenate([skip, x])
        x = double_conv(x, filters)
    outputs = layers.Conv2D(n_classes, 1, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="unet")
