import keras
from keras import layers

inputs = keras.Input(shape=(32,))
x = layers.Dense(64, activation="relu")(inputs)
y = layers.Dropout(0.5)(x)  # warning: CC206
layers.BatchNormalization()  # warning: CC206
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
