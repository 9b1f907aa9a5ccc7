# label: LEAK kind=overlap
# The "test" rows are the last fifth of the very rows the model trains on.
import numpy as np
from sklearn.linear_model import Ridge

X = np.load("X.npy")
y = np.load("y.npy")
cut = int(len(X) * 0.8)
X_train, y_train = X, y
X_test, y_test = X[cut:], y[cut:]
model = Ridge().fit(X_train, y_train)
print(model.score(X_test, y_test))
