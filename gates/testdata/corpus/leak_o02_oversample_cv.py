# label: LEAK kind=overlap
# Oversampled copies of a row land in different folds.
from imblearn.over_sampling import RandomOverSampler
from sklearn.model_selection import cross_val_score, StratifiedKFold
from sklearn.linear_model import LogisticRegression
import numpy as np

X = np.load("X.npy")
y = np.load("y.npy")
ros = RandomOverSampler(random_state=42)
X_bal, y_bal = ros.fit_resample(X, y)
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
print(cross_val_score(LogisticRegression(max_iter=1000), X_bal, y_bal, cv=cv, scoring="f1").mean())
