"""Every way of giving a Sequential model its input: an Input first, an InputLayer in
the list, input_shape / batch_input_shape / input_dim on the first layer."""
import keras
from keras import layers

with_input = keras.Sequential([keras.Input(shape=(16,)), layers.Dense(8), layers.Dense(1)],
                              name="with_input")

with_input_layer = keras.Sequential(name="with_input_layer")
with_input_layer.add(layers.InputLayer(input_shape=(None, 12)))
with_input_layer.add(layers.LSTM(8))
with_input_layer.add(layers.Dense(4))

with_batch_shape = keras.Sequential(name="with_batch_shape")
with_batch_shape.add(layers.Conv2D(8, 3, batch_input_shape=(4, 28, 28, 1), name="conv"))
with_batch_shape.add(layers.Flatten())
with_batch_shape.add(layers.Dense(10))

with_input_dim = keras.Sequential(name="with_input_dim")
with_input_dim.add(layers.Dense(64, input_dim=20, activation="relu"))
with_input_dim.add(layers.BatchNormalization())
with_input_dim.add(layers.Dense(1, activation="sigmoid"))

built_later = keras.Sequential([layers.Dense(32), layers.Dense(2)], name="built_later")
built_later.build((None, 7))
