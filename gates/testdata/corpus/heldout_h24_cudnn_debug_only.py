# label: UNDER-SEEDED kind=conditional
import argparse
import os
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--debug", action="store_true")
opts = ap.parse_args()
os.environ["PYTHONHASHSEED"] = "0"
torch.manual_seed(0)
if opts.debug:
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
model = torch.nn.Conv2d(1, 4, 3).to("cuda")
print(model(torch.randn(1, 1, 8, 8, device="cuda")).sum())
