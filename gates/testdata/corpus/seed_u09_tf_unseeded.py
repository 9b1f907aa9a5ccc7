# label: UNDER-SEEDED kind=missing.tf_seed
# TensorFlow with numpy seeded only.
import os
import numpy as np
import tensorflow as tf

os.environ["PYTHONHASHSEED"] = "0"
np.random.seed(0)
model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.Dropout(0.3), tf.keras.layers.Dense(1)])
model.compile("adam", "mse")
model.fit(np.random.rand(64, 4), np.random.rand(64), epochs=2, verbose=0)
