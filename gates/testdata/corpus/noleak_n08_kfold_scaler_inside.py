# label: NO-LEAK
# Manual cross-validation with the scaler fitted inside each fold.
import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC

X = np.loadtxt("features.csv", delimiter=",")
y = np.loadtxt("labels.csv", delimiter=",")
skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
accs = []
for train_idx, test_idx in skf.split(X, y):
    scaler = MinMaxScaler().fit(X[train_idx])
    model = SVC().fit(scaler.transform(X[train_idx]), y[train_idx])
    accs.append(model.score(scaler.transform(X[test_idx]), y[test_idx]))
print(np.mean(accs))
