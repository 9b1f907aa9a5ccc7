# label: UNDER-SEEDED kind=missing.cudnn_deterministic
# seed_everything without a deterministic trainer on the GPU.
import os
import torch
import pytorch_lightning as pl

os.environ["PYTHONHASHSEED"] = "0"
pl.seed_everything(7)
trainer = pl.Trainer(accelerator="gpu", devices=1, max_epochs=3)
x = torch.randn(4, 4).cuda()
print(x.sum())
