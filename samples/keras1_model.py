"""A model in Keras 1 style: Convolution2D(nb_filter, nb_row, nb_col), border_mode,
merge(mode=...), Dense(output_dim=...) and Model(input=, output=)."""
from keras.layers import Convolution2D, Dense, Flatten, Input, MaxPooling2D, merge
from keras.models import Model

image = Input(shape=(32, 32, 3))
a = Convolution2D(16, 3, 3, border_mode="same", activation="relu")(image)
b = Convolution2D(16, 5, 5, border_mode="same", activation="relu")(image)
x = merge([a, b], mode="concat", concat_axis=-1)
x = MaxPooling2D(pool_size=(2, 2))(x)
x = Flatten()(x)
x = Dense(output_dim=64, activation="relu")(x)
predictions = Dense(10, activation="softmax")(x)
model = Model(input=image, output=predictions)
