# label: LEAK kind=preprocessing
# A hand-written transformer: its fit learns column means and scales.
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression


class Standardize:
    def fit(self, X):
        self.mu = X.mean(axis=0)
        self.sigma = X.std(axis=0) + 1e-8
        return self

    def transform(self, X):
        return (X - self.mu) / self.sigma


X = np.load("X.npy")
y = np.load("y.npy")
std = Standardize().fit(X)
Xs = std.transform(X)
X_train, X_test, y_train, y_test = train_test_split(Xs, y, random_state=0)
print(LogisticRegression().fit(X_train, y_train).score(X_test, y_test))
