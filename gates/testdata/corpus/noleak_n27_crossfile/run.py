# label: NO-LEAK
# The pipeline comes from another scanned file and is cross-validated.
import numpy as np
from sklearn.model_selection import cross_val_score
from modeling import build_pipeline

X = np.load("X.npy")
y = np.load("y.npy")
for c in [0.1, 1.0]:
    print(c, cross_val_score(build_pipeline(c), X, y, cv=5).mean())
