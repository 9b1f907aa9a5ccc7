# label: SEEDED
import json
import os
import random
import numpy as np

cfg = json.load(open("config.json"))
os.environ["PYTHONHASHSEED"] = str(cfg["seed"])
random.seed(cfg["seed"])
np.random.seed(cfg["seed"])
print(np.random.permutation(10), random.random())
