import keras
import numpy as np
from keras import layers

x = np.random.rand(100, 20)
y = np.random.randint(0, 5, size=(100,))
model = keras.Sequential([
    keras.Input(shape=(20,)),
    layers.Dense(16, activation="relu"),
    layers.Dense(5, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(x, y, epochs=2)  # error: CC223
