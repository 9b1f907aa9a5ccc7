# label: UNDER-SEEDED kind=missing.numpy_seed
# random is seeded, numpy is not.
import os
import random
import numpy as np

os.environ["PYTHONHASHSEED"] = "0"
random.seed(0)
noise = np.random.normal(size=1000)
print(noise.std(), random.random())
