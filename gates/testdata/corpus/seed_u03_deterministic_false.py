# label: UNDER-SEEDED kind=missing.cudnn_deterministic
# use_deterministic_algorithms(False) switches determinism off.
import os
import torch

os.environ["PYTHONHASHSEED"] = "0"
torch.manual_seed(0)
torch.use_deterministic_algorithms(False)
model = torch.nn.Conv2d(3, 8, 3).cuda()
out = model(torch.randn(2, 3, 32, 32, device="cuda"))
print(out.mean())
