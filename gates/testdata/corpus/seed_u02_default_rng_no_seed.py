# label: UNDER-SEEDED kind=missing.numpy_seed
# default_rng() without a seed draws fresh entropy every run.
import os
import numpy as np

os.environ["PYTHONHASHSEED"] = "0"
rng = np.random.default_rng()
idx = rng.permutation(100)
print(idx[:10])
