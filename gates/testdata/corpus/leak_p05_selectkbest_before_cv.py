# label: LEAK kind=preprocessing
# Feature selection with the labels of every row, then cross-validation.
import numpy as np
from sklearn.datasets import make_classification
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.model_selection import cross_val_score
from sklearn.linear_model import LogisticRegression

X, y = make_classification(n_samples=200, n_features=5000, n_informative=5, random_state=0)
selector = SelectKBest(f_classif, k=20)
X_sel = selector.fit_transform(X, y)
scores = cross_val_score(LogisticRegression(max_iter=500), X_sel, y, cv=5)
print(np.mean(scores))
