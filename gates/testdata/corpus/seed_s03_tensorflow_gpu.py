# label: SEEDED
# TensorFlow on the GPU with global seeds and op determinism.
import os
import tensorflow as tf
from tensorflow import keras

os.environ.setdefault("PYTHONHASHSEED", "0")
keras.utils.set_random_seed(42)
tf.config.experimental.enable_op_determinism()
gpus = tf.config.list_physical_devices("GPU")
print("GPUs:", gpus)
model = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
x = tf.random.normal((256, 4))
y = tf.reduce_sum(x, axis=1)
model.fit(x, y, epochs=3, verbose=0)
