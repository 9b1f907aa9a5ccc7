# label: NO-LEAK
# Early stopping on a validation split carved out of the training rows.
import numpy as np
import lightgbm as lgb
from sklearn.model_selection import train_test_split

X = np.load("X.npy")
y = np.load("y.npy")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train, test_size=0.2, random_state=0)
model = lgb.LGBMClassifier(n_estimators=5000)
model.fit(X_tr, y_tr, eval_set=[(X_val, y_val)], callbacks=[lgb.early_stopping(100)])
print("test accuracy", model.score(X_test, y_test))
