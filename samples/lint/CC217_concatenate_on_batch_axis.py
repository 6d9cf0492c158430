import keras
from keras import layers

left = keras.Input(shape=(16,))
right = keras.Input(shape=(16,))
a = layers.Dense(8, activation="relu")(left)
b = layers.Dense(8, activation="relu")(right)
x = layers.Concatenate(axis=0)([a, b])  # warning: CC217
model = keras.Model([left, right], layers.Dense(1, activation="sigmoid")(x))
