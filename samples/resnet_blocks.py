"""A small ResNet written the way people write them: helper functions with defaults,
*args/**kwargs, a closure, loops over a stage table, f-string names, and a projection
shortcut chosen by comparing channel counts."""
import math

from keras import Model, layers

STAGES = {"stage1": (16, 2), "stage2": (32, 2), "stage3": (64, 2)}


def conv_bn(x, filters, kernel=3, *, strides=1, name=None, **conv_kwargs):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False,
                      name=f"{name}_conv", **conv_kwargs)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return x


def residual(filters, strides=1, name="block"):
    def apply(x):
        shortcut = x
        if strides != 1 or x.shape[-1] != filters:
            shortcut = conv_bn(x, filters, 1, strides=strides, name=f"{name}_proj")
        y = conv_bn(x, filters, strides=strides, name=f"{name}_a")
        y = layers.Activation("relu")(y)
        y = conv_bn(y, filters, name=f"{name}_b")
        y = layers.add([shortcut, y])
        return layers.Activation("relu", name=f"{name}_out")(y)

    return apply


def build_resnet(input_shape=(64, 64, 3), num_classes=10, width=1.0):
    inputs = layers.Input(shape=input_shape)
    x = conv_bn(inputs, int(16 * width), name="stem")
    x = layers.ReLU()(x)
    for i, (stage, (filters, blocks)) in enumerate(STAGES.items()):
        for b in range(blocks):
            strides = 2 if b == 0 and i > 0 else 1
            x = residual(int(filters * width), strides, name=f"{stage}_b{b}")(x)
    x = layers.GlobalAveragePooling2D()(x)
    hidden = 2 ** int(math.log2(num_classes * 8))
    x = layers.Dense(hidden, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return Model(inputs, outputs, name="small_resnet")
