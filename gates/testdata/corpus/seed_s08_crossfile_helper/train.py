# label: SEEDED
# Seeding lives in a helper of another scanned file.
import torch
from repro import set_seeds

set_seeds(5)
w = torch.randn(10, requires_grad=True)
opt = torch.optim.Adam([w], lr=0.01)
for step in range(100):
    loss = (w ** 2).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
