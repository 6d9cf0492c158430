"""The same small CNN spelled with every common way of importing Keras through TensorFlow."""
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers, models

inputs = tf.keras.Input(shape=(28, 28, 1), name="digits")
x = tf.keras.layers.Conv2D(16, 3, activation="relu")(inputs)
x = layers.MaxPooling2D()(x)
x = keras.layers.Conv2D(32, 3, activation=tf.nn.relu)(x)
x = tf.keras.layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10, activation=tf.keras.activations.softmax)(x)
model = models.Model(inputs=inputs, outputs=outputs, name="tf_keras_cnn")
model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
