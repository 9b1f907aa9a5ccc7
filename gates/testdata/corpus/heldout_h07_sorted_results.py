# label: LEAK kind=test-in-training
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
results = []
for n in [10, 50, 100, 200]:
    m = RandomForestClassifier(n_estimators=n, random_state=0).fit(X_train, y_train)
    results.append((n, accuracy_score(y_test, m.predict(X_test))))
best_n = sorted(results, key=lambda r: r[1])[-1][0]
print("chosen", best_n)
