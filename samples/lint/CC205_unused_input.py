import keras
from keras import layers

image = keras.Input(shape=(16,), name="image")
meta = keras.Input(shape=(4,), name="meta")  # warning: CC205
x = layers.Dense(8, activation="relu")(image)
model = keras.Model([image, meta], layers.Dense(1, activation="sigmoid")(x))
