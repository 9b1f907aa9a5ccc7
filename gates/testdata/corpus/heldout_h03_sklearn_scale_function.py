# label: LEAK kind=preprocessing
from sklearn import preprocessing
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.linear_model import Lasso

X, y = load_diabetes(return_X_y=True)
X = preprocessing.scale(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print(Lasso().fit(X_train, y_train).score(X_test, y_test))
