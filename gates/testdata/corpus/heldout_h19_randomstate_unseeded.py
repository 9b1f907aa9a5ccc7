# label: UNDER-SEEDED kind=missing.numpy_seed
import os
import numpy as np

os.environ["PYTHONHASHSEED"] = "0"
rs = np.random.RandomState()
print(rs.randn(3))
