# label: UNDER-SEEDED kind=conditional
# Seeds only when --seed is given.
import argparse
import os
import random
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int)
args = parser.parse_args()
os.environ["PYTHONHASHSEED"] = "0"
if args.seed is not None:
    random.seed(args.seed)
    np.random.seed(args.seed)
print(np.random.rand(), random.random())
