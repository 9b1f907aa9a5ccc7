# label: NO-LEAK
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression


def prepare(X_train, X_test):
    scaler = StandardScaler()
    scaler.fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


X = np.load("X.npy")
y = np.load("y.npy")
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
X_train_s, X_test_s = prepare(X_train, X_test)
print(LogisticRegression().fit(X_train_s, y_train).score(X_test_s, y_test))
