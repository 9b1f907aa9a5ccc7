# label: SEEDED
# CUDA seeding and cuDNN settings only when CUDA exists is correct.
import os
import torch

os.environ["PYTHONHASHSEED"] = "0"
torch.manual_seed(0)
if torch.cuda.is_available():
    torch.cuda.manual_seed_all(0)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    device = "cuda"
else:
    device = "cpu"
x = torch.randn(8, 8, device=device)
print(x.sum())
