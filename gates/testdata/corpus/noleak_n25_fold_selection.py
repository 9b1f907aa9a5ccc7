# label: NO-LEAK
# Feature selection refitted inside every fold.
import numpy as np
from sklearn.model_selection import KFold
from sklearn.feature_selection import SelectKBest, f_regression
from sklearn.linear_model import Ridge

X = np.load("X.npy")
y = np.load("y.npy")
kf = KFold(n_splits=5, shuffle=True, random_state=0)
scores = []
for tr, te in kf.split(X):
    sel = SelectKBest(f_regression, k=10).fit(X[tr], y[tr])
    model = Ridge().fit(sel.transform(X[tr]), y[tr])
    scores.append(model.score(sel.transform(X[te]), y[te]))
print(np.mean(scores))
