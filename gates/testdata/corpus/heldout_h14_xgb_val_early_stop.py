# label: NO-LEAK
import numpy as np
from xgboost import XGBRegressor
from sklearn.model_selection import train_test_split

X = np.load("X.npy")
y = np.load("y.npy")
X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
X_train, X_valid, y_train, y_valid = train_test_split(X_rest, y_rest, test_size=0.2, random_state=1)
model = XGBRegressor(n_estimators=1000, early_stopping_rounds=20)
model.fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=False)
print(model.score(X_test, y_test))
