import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(20,)),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
    layers.Activation("softmax"),  # warning: CC211
])
