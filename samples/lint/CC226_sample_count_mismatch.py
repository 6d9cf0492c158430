import keras
import numpy as np
from keras import layers

x_train = np.random.rand(800, 20)
y_train = np.random.randint(0, 2, size=(800,))
x_test = np.random.rand(200, 20)
y_test = np.random.randint(0, 2, size=(200,))
model = keras.Sequential([
    keras.Input(shape=(20,)),
    layers.Dense(16, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x_train, y_test, epochs=1)  # error: CC226
