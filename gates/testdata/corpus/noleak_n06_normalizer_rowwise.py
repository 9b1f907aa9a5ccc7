# label: NO-LEAK
# Normalizer scales each row by its own norm: nothing is learnt across rows.
import numpy as np
from sklearn.preprocessing import Normalizer, PolynomialFeatures
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

X = np.load("counts.npy")
y = np.load("labels.npy")
X = Normalizer(norm="l2").fit_transform(X)
X = PolynomialFeatures(degree=2).fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print(LogisticRegression(max_iter=1000).fit(X_train, y_train).score(X_test, y_test))
