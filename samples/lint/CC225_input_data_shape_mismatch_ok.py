import keras
import numpy as np
from keras import layers

x = np.random.rand(64, 784).reshape(-1, 28, 28, 1)
y = np.random.randint(0, 10, size=(64,))
model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(8, 3, activation="relu"),
    layers.GlobalAveragePooling2D(),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x, y, epochs=1)
