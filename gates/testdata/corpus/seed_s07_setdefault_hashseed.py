# label: SEEDED
# os.environ.setdefault counts for PYTHONHASHSEED.
import os
import random

os.environ.setdefault("PYTHONHASHSEED", "11")
random.seed(11)
names = {"ada", "grace", "alan"}
print(sorted(names), random.choice(sorted(names)))
