"""An autoencoder: encoder and decoder are models of their own, called as layers."""
import keras
from keras import layers


def make_encoder(latent=16):
    image = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(image)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    return keras.Model(image, layers.Dense(latent)(x), name="encoder")


def make_decoder(latent=16):
    return keras.Sequential([
        keras.Input(shape=(latent,)),
        layers.Dense(7 * 7 * 32, activation="relu"),
        layers.Reshape((7, 7, 32)),
        layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),
    ], name="decoder")


encoder = make_encoder()
decoder = make_decoder()
inputs = keras.Input(shape=(28, 28, 1), name="inputs")
autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
