# label: SEEDED
import os
import numpy as np
from sklearn.model_selection import KFold, cross_val_score
from sklearn.linear_model import Ridge

os.environ["PYTHONHASHSEED"] = "0"
np.random.seed(0)
X = np.random.rand(100, 3)
y = X @ np.array([1.0, 2.0, 3.0])
print(cross_val_score(Ridge(), X, y, cv=KFold(n_splits=5)).mean())
