# label: SEEDED
# Every mechanism for torch on the GPU, DataLoader workers included.
import os
import random
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

SEED = 1234


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def seed_everything(seed):
    if os.environ.get("PYTHONHASHSEED") != str(seed):
        raise SystemExit("launch with rigor run, which sets PYTHONHASHSEED")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


seed_everything(SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
g = torch.Generator()
g.manual_seed(SEED)
data = TensorDataset(torch.randn(512, 8), torch.randint(0, 2, (512,)))
loader = DataLoader(data, batch_size=32, shuffle=True, num_workers=4, worker_init_fn=seed_worker, generator=g)
model = torch.nn.Linear(8, 2).to(device)
for xb, yb in loader:
    loss = torch.nn.functional.cross_entropy(model(xb.to(device)), yb.to(device))
    loss.backward()
