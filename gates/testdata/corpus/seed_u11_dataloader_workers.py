# label: UNDER-SEEDED kind=missing.dataloader_worker_seed
# Shuffling workers with no worker_init_fn and no generator.
import os
import random
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

os.environ["PYTHONHASHSEED"] = "0"
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)


class Noisy(Dataset):
    def __len__(self):
        return 100

    def __getitem__(self, i):
        return np.random.rand(3).astype("float32"), i % 2


loader = DataLoader(Noisy(), batch_size=10, shuffle=True, num_workers=4)
for xb, yb in loader:
    print(xb.shape)
