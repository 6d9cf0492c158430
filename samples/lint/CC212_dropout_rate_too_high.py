import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(20,)),
    layers.Dense(64, activation="relu"),
    layers.Dropout(0.9),  # warning: CC212
    layers.Dense(1, activation="sigmoid"),
])
