# label: UNDER-SEEDED kind=missing.tf_op_determinism
# Seeded, but GPU kernels may still be non-deterministic.
import os
import tensorflow as tf

os.environ["PYTHONHASHSEED"] = "0"
tf.random.set_seed(1)
with tf.device("/GPU:0"):
    a = tf.random.normal((1024, 1024))
    print(tf.reduce_sum(tf.matmul(a, a)))
