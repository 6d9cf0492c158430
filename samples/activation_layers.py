"""Advanced activations used as layers, and a Conv2D spelling out every argument."""
from keras import layers, models

model = models.Sequential(name="activation_layers")
model.add(layers.Input(shape=(32, 32, 3)))
model.add(layers.Conv2D(filters=16, kernel_size=(3, 3), strides=(1, 1), padding="valid",
                        data_format="channels_last", dilation_rate=(1, 1), groups=1,
                        activation=None, use_bias=True, kernel_initializer="he_normal",
                        bias_initializer="zeros", name="conv"))
model.add(layers.LeakyReLU(negative_slope=0.1))
model.add(layers.Conv2D(16, 3, strides=2))
model.add(layers.PReLU(shared_axes=[1, 2]))
model.add(layers.Conv2D(8, 3))
model.add(layers.PReLU())
model.add(layers.GlobalMaxPooling2D())
model.add(layers.Dense(4, activation="softmax"))
