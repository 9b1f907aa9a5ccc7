# label: LEAK kind=preprocessing
# NumPy column statistics over every sample.
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

X = np.load("signals.npy")
y = np.load("classes.npy")
mu = np.mean(X, axis=0)
sd = np.std(X, axis=0)
X = (X - mu) / sd
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
print(LogisticRegression().fit(Xtr, ytr).score(Xte, yte))
