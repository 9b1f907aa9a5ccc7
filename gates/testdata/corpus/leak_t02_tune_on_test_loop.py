# label: LEAK kind=test-in-training
# The regularisation strength is chosen by the test score.
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
best_c, best_acc = None, 0.0
for c in [0.01, 0.1, 1.0, 10.0]:
    model = LogisticRegression(C=c, max_iter=2000).fit(X_train, y_train)
    acc = model.score(X_test, y_test)
    if acc > best_acc:
        best_c, best_acc = c, acc
print("best C", best_c, "test accuracy", best_acc)
