# label: LEAK kind=test-in-training
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.ensemble import AdaBoostClassifier

X = np.load("X.npy")
y = np.load("y.npy")
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
clf = AdaBoostClassifier(random_state=0)
clf.fit(np.vstack([X_train, X_test]), np.concatenate([y_train, y_test]))
print(clf.score(X_test, y_test))
