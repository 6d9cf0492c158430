import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    layers.LSTM(64),
    layers.LSTM(32),  # error: CC202
    layers.Dense(1),
])
