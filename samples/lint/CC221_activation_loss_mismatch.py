import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(20,)),
    layers.Dense(16, activation="relu"),
    layers.Dense(5, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy")  # warning: CC221
