# label: LEAK kind=preprocessing
# No split function at all: the hold-out is a slice, taken after scaling.
import numpy as np
from sklearn.preprocessing import RobustScaler
from sklearn.ensemble import RandomForestRegressor

X = np.load("design.npy")
y = np.load("response.npy")
X = RobustScaler().fit_transform(X)

n_train = int(0.8 * len(X))
rf = RandomForestRegressor(n_estimators=100, random_state=0)
rf.fit(X[:n_train], y[:n_train])
print("R2 on held-out rows:", rf.score(X[n_train:], y[n_train:]))
