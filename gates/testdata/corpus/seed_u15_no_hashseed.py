# label: UNDER-SEEDED kind=missing.pythonhashseed
# Everything is seeded except hash randomisation.
import random
import numpy as np

random.seed(0)
np.random.seed(0)
vocab = {w for w in open("words.txt").read().split()}
order = list(vocab)
random.shuffle(order)
print(order[:5], np.random.rand())
