# label: LEAK kind=test-in-training
# Optuna optimises the test accuracy.
import optuna
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)


def objective(trial):
    depth = trial.suggest_int("max_depth", 2, 16)
    model = RandomForestClassifier(max_depth=depth, random_state=0)
    model.fit(X_train, y_train)
    return accuracy_score(y_test, model.predict(X_test))


study = optuna.create_study(direction="maximize")
study.optimize(objective, n_trials=50)
print(study.best_value)
