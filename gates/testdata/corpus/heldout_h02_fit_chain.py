# label: LEAK kind=preprocessing
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

X = np.genfromtxt("X.csv", delimiter=",")
y = np.genfromtxt("y.csv", delimiter=",")
X_std = StandardScaler().fit(X).transform(X)
a_tr, a_te, b_tr, b_te = train_test_split(X_std, y, test_size=0.3)
print(LinearSVC().fit(a_tr, b_tr).score(a_te, b_te))
