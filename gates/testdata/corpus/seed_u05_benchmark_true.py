# label: UNDER-SEEDED kind=cudnn_benchmark
# benchmark=True lets the autotuner pick algorithms per run.
import os
import torch

os.environ["PYTHONHASHSEED"] = "0"
torch.manual_seed(0)
torch.cuda.manual_seed_all(0)
torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = True
net = torch.nn.Conv2d(3, 16, 3).to("cuda")
print(net(torch.randn(1, 3, 64, 64, device="cuda")).sum())
