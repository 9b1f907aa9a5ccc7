# label: UNDER-SEEDED kind=conditional
import argparse
import os
import torch

p = argparse.ArgumentParser()
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()
os.environ["PYTHONHASHSEED"] = "0"
if args.seed:
    torch.manual_seed(args.seed)
print(torch.randn(2))
