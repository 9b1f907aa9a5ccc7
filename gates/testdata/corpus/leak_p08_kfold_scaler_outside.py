# label: LEAK kind=preprocessing
# Manual cross-validation, but the scaler was fitted once on every row.
import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC

X = np.loadtxt("features.csv", delimiter=",")
y = np.loadtxt("labels.csv", delimiter=",")
X = MinMaxScaler().fit_transform(X)

skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
accs = []
for train_idx, test_idx in skf.split(X, y):
    model = SVC(C=1.0)
    model.fit(X[train_idx], y[train_idx])
    accs.append(model.score(X[test_idx], y[test_idx]))
print(np.mean(accs))
