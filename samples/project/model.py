"""The project's model, built from the blocks module with relative imports."""
from tensorflow import keras

from . import config
from .blocks import classifier, conv_block


def build_model():
    inputs = keras.Input(shape=(config.IMAGE_SIZE, config.IMAGE_SIZE, config.CHANNELS))
    x = inputs
    for i, width in enumerate(config.WIDTHS):
        x = conv_block(x, width, name=f"block{i + 1}")
    return keras.Model(inputs, classifier(x, config.NUM_CLASSES), name="project_cnn")
