# label: SEEDED
# "from random import seed" seeds the global generator; numpy draws from a seeded Generator.
import os
from random import seed, shuffle
import numpy as np

os.environ["PYTHONHASHSEED"] = "3"
seed(3)
rng = np.random.default_rng(3)
deck = list(range(52))
shuffle(deck)
print(deck[:5], rng.normal(size=3))
