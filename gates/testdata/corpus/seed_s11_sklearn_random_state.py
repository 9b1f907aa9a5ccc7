# label: SEEDED
# sklearn with random_state everywhere.
import os
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split, KFold
from sklearn.ensemble import RandomForestClassifier

os.environ["PYTHONHASHSEED"] = "0"
np.random.seed(0)
X, y = make_classification(n_samples=500, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
kf = KFold(n_splits=5, shuffle=True, random_state=0)
rf = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_train, y_train)
print(rf.score(X_test, y_test))
