"""Reusable blocks."""
from tensorflow.keras import layers


def conv_block(x, filters, name):
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    return layers.MaxPooling2D(name=f"{name}_pool")(x)


def classifier(x, num_classes):
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Dense(num_classes, activation="softmax", name="classes")(x)
