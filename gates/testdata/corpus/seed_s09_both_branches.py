# label: SEEDED
# Both branches seed: the flag only chooses the value.
import argparse
import os
import random
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=None)
args = parser.parse_args()
os.environ["PYTHONHASHSEED"] = "0"
if args.seed is not None:
    random.seed(args.seed)
    np.random.seed(args.seed)
else:
    random.seed(0)
    np.random.seed(0)
print(np.random.rand(3), random.random())
