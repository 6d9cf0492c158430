import keras
from keras import layers

model = keras.Sequential([
    layers.Conv2D(16, 3, activation="relu", input_shape=(None, 28, 28, 1)),  # error: CC203
    layers.Flatten(),
    layers.Dense(10, activation="softmax"),
])
