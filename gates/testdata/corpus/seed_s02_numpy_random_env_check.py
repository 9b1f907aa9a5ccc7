# label: SEEDED
# numpy and random seeded; the script checks that its launcher set PYTHONHASHSEED.
import os
import random
import numpy as np

assert os.getenv("PYTHONHASHSEED") is not None, "run via: rigor run -- python simulate.py"
random.seed(7)
np.random.seed(7)
walks = np.cumsum(np.random.choice([-1, 1], size=(100, 1000)), axis=1)
sample = random.sample(range(100), 10)
print(walks[sample, -1].mean())
