import keras
from keras import layers

inputs = keras.Input(shape=(3, 64, 64))
x = layers.Conv2D(16, 3, activation="relu")(inputs)  # warning: CC204
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
