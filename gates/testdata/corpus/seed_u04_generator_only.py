# label: UNDER-SEEDED kind=missing.torch_seed
# Only a private Generator is seeded; weight init uses the global generator.
import os
import torch

os.environ["PYTHONHASHSEED"] = "0"
gen = torch.Generator()
gen.manual_seed(0)
perm = torch.randperm(100, generator=gen)
layer = torch.nn.Linear(16, 4)
print(perm[:5], layer.weight.sum())
