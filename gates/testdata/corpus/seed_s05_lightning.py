# label: SEEDED
# Lightning: seed_everything with workers, deterministic trainer on the GPU.
import os
import torch
import lightning as L
from torch.utils.data import DataLoader, TensorDataset

os.environ["PYTHONHASHSEED"] = "0"
L.seed_everything(2024, workers=True)


class Net(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


ds = TensorDataset(torch.randn(64, 4), torch.randn(64))
trainer = L.Trainer(accelerator="gpu", devices=1, deterministic=True, max_epochs=2)
trainer.fit(Net(), DataLoader(ds, batch_size=8, num_workers=2))
