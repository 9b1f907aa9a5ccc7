# label: SEEDED
# model.eval() is a method, and nothing here runs on the GPU.
import os
import torch

os.environ["PYTHONHASHSEED"] = "0"
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5))
model.eval()
with torch.no_grad():
    print(model(torch.ones(1, 4)))
