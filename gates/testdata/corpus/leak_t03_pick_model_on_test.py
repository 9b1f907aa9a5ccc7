# label: LEAK kind=test-in-training
# Several models, one test set, the winner is reported.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import RandomForestClassifier, GradientBoostingClassifier
from sklearn.metrics import roc_auc_score

df = pd.read_csv("credit.csv")
X_train, X_test, y_train, y_test = train_test_split(df.drop(columns="default"), df["default"], random_state=0)
candidates = {
    "logreg": LogisticRegression(max_iter=1000),
    "forest": RandomForestClassifier(random_state=0),
    "gbm": GradientBoostingClassifier(random_state=0),
}
scores = {}
for name, model in candidates.items():
    model.fit(X_train, y_train)
    scores[name] = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
best = max(scores, key=scores.get)
print("best model:", best, scores[best])
