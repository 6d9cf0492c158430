"""Star imports, an aliased layers module and Keras 2 / internal module paths."""
from keras import layers as L
from keras.layers.convolutional import Conv2D
from keras.layers.core import Dense, Flatten
from keras.models import Sequential
from keras.src.layers import BatchNormalization
from tensorflow.keras.layers import *  # noqa: F403

model = Sequential(name="legacy_paths")
model.add(Conv2D(8, (3, 3), input_shape=(32, 32, 3)))
model.add(BatchNormalization())
model.add(L.Activation("relu"))
model.add(MaxPooling2D((2, 2)))  # noqa: F405  (from the star import)
model.add(Flatten())
model.add(Dense(10, activation="softmax"))
