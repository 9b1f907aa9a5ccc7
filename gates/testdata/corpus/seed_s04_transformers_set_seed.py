# label: SEEDED
# transformers.set_seed covers random, numpy and torch; the launcher sets PYTHONHASHSEED.
import os
import numpy as np
import torch
from transformers import set_seed, AutoModelForSequenceClassification

if "PYTHONHASHSEED" not in os.environ:
    raise RuntimeError("PYTHONHASHSEED must be set by the launcher")
print("hash seed", os.environ["PYTHONHASHSEED"])
set_seed(17)
model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased", num_labels=2)
logits = model(torch.randint(0, 1000, (4, 16))).logits
print(np.round(logits.detach().numpy(), 3))
