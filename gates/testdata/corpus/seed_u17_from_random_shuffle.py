# label: UNDER-SEEDED kind=missing.random_seed
# "from random import shuffle" uses random, which nobody seeds.
import os
from random import shuffle
import torch

os.environ["PYTHONHASHSEED"] = "0"
torch.manual_seed(0)
items = list(range(10))
shuffle(items)
print(items, torch.rand(1))
