# label: UNDER-SEEDED kind=missing.torch_seed
# Seeding delegated to a helper outside the scanned code: not verifiable here.
import numpy as np
import torch
from labtools.repro import set_global_seed

set_global_seed(42)
x = torch.randn(3, 3)
print(np.linalg.norm(x.numpy()))
