# label: NO-LEAK
# Hyperparameter loop on a validation split; test touched once at the end.
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

X = np.load("X.npy")
y = np.load("y.npy")
X_tmp, X_test, y_tmp, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(X_tmp, y_tmp, test_size=0.25, random_state=0)
best_k, best = 1, -1.0
for k in range(1, 30, 2):
    score = KNeighborsClassifier(n_neighbors=k).fit(X_train, y_train).score(X_val, y_val)
    if score > best:
        best_k, best = k, score
final = KNeighborsClassifier(n_neighbors=best_k).fit(X_train, y_train)
print("test", final.score(X_test, y_test))
