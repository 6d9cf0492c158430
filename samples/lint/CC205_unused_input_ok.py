import keras
from keras import layers

image = keras.Input(shape=(16,), name="image")
meta = keras.Input(shape=(4,), name="meta")
x = layers.Concatenate()([image, meta])
x = layers.Dense(8, activation="relu")(x)
model = keras.Model([image, meta], layers.Dense(1, activation="sigmoid")(x))
