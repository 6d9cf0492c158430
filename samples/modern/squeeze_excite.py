"""A small CNN whose residual stages recalibrate channels with squeeze-and-excitation:
``keras.ops.mean`` pools each channel, two Dense layers gate it, ``Multiply`` rescales."""

import keras
from keras import layers, ops


def squeeze_excite(x, ratio=4):
    channels = x.shape[-1]
    s = ops.mean(x, axis=(1, 2), keepdims=True)
    s = layers.Dense(channels // ratio, activation="relu")(s)
    s = layers.Dense(channels, activation="sigmoid")(s)
    return layers.Multiply()([x, s])


def se_stage(x, filters, stride):
    shortcut = x
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = squeeze_excite(x)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(shortcut)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.Activation("relu")(layers.Add()([x, shortcut]))


def build_se_net(input_shape=(64, 64, 3), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)
    for filters, stride in ((32, 1), (64, 2), (128, 2)):
        x = se_stage(x, filters, stride)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="se_net")


model = build_se_net()
