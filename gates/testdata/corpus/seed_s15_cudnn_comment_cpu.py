# label: SEEDED
# CPU only. (On a cluster we would also set cudnn flags and move to cuda.)
import os
import torch
import numpy as np

os.environ["PYTHONHASHSEED"] = "0"
torch.manual_seed(1)
np.random.seed(1)
# torch.backends.cudnn.deterministic = True  -- not needed on the CPU
x = torch.from_numpy(np.random.rand(4, 4))
print(torch.linalg.inv(x))
