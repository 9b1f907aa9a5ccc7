# label: UNDER-SEEDED kind=clock_seed
# The "seed" is the current time.
import os
import time
import random

os.environ["PYTHONHASHSEED"] = "0"
random.seed(time.time())
print(random.randint(0, 100))
