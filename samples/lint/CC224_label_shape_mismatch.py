import keras
import numpy as np
from keras import layers

x = np.random.rand(100, 20)
y = np.zeros((100, 3))
model = keras.Sequential([
    keras.Input(shape=(20,)),
    layers.Dense(16, activation="relu"),
    layers.Dense(4, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(x, y, epochs=2)  # error: CC224
