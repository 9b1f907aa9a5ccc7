# label: SEEDED
import os
import torch

if os.environ.get("PYTHONHASHSEED") is None:
    raise SystemExit("use rigor run")
os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
net = torch.nn.Linear(16, 16).cuda()
print(net(torch.randn(4, 16).cuda()).sum())
