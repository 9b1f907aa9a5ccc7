# label: NO-LEAK
# Models compared by cross-validation on the training rows; the test set is used once.
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split, cross_val_score
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import RandomForestClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
models = {"lr": LogisticRegression(max_iter=2000), "rf": RandomForestClassifier(random_state=0)}
cv_scores = {name: cross_val_score(m, X_train, y_train, cv=5).mean() for name, m in models.items()}
best = max(cv_scores, key=cv_scores.get)
final = models[best].fit(X_train, y_train)
print(best, final.score(X_test, y_test))
