import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(20,)),
    layers.Dense(128),  # warning: CC210
    layers.Dense(10, activation="softmax"),
])
