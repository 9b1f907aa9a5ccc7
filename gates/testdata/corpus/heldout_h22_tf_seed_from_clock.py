# label: UNDER-SEEDED kind=clock_seed
import os
import time
import tensorflow as tf

os.environ["PYTHONHASHSEED"] = "0"
tf.random.set_seed(time.time_ns() % 2**31)
print(tf.random.uniform((2,)))
