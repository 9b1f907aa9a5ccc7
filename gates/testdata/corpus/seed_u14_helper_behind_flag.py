# label: UNDER-SEEDED kind=conditional
# The seeding helper is only called when --deterministic is passed.
import argparse
import os
import random
import numpy as np
import torch


def make_deterministic(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deterministic", action="store_true")
    args = parser.parse_args()
    os.environ["PYTHONHASHSEED"] = "0"
    if args.deterministic:
        make_deterministic(0)
    print(torch.rand(2), np.random.rand(), random.random())


if __name__ == "__main__":
    main()
