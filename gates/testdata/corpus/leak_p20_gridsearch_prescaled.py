# label: LEAK kind=preprocessing
# The search cross-validates data that was scaled on all rows beforehand.
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
search = GridSearchCV(SVC(), {"C": [0.1, 1, 10], "gamma": ["scale", 0.01]}, cv=5)
search.fit(X, y)
print(search.best_score_)
