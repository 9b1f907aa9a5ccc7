# label: LEAK kind=test-in-training
# Early stopping watches the test set.
import numpy as np
import xgboost as xgb
from sklearn.model_selection import train_test_split

X = np.load("X.npy")
y = np.load("y.npy")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
model = xgb.XGBClassifier(n_estimators=2000, learning_rate=0.05, early_stopping_rounds=50)
model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
print("test accuracy", model.score(X_test, y_test))
