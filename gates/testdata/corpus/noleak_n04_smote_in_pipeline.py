# label: NO-LEAK
# Oversampling inside an imblearn pipeline happens on each training fold only.
import numpy as np
from imblearn.pipeline import Pipeline
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import cross_val_score, StratifiedKFold
from sklearn.ensemble import RandomForestClassifier

X = np.load("X.npy")
y = np.load("y.npy")
pipe = Pipeline([("smote", SMOTE(random_state=0)), ("rf", RandomForestClassifier(random_state=0))])
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
print(cross_val_score(pipe, X, y, cv=cv, scoring="f1").mean())
