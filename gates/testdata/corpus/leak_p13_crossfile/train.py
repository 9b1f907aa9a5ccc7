# label: LEAK kind=preprocessing
# The scaling happens in another scanned file, before the split here.
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.linear_model import SGDClassifier
from features import scale, add_bias

X = np.load("X.npy")
y = np.load("y.npy")
X = add_bias(scale(X))
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
clf = SGDClassifier(random_state=0).fit(X_train, y_train)
print(clf.score(X_test, y_test))
