# Seeding helpers shared by the experiments.
import os
import random
import numpy as np
import torch


def set_seeds(seed):
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
