# label: NO-LEAK
# Evaluate once, then refit on all rows for deployment (no further evaluation).
import joblib
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

df = pd.read_csv("churn.csv")
X = df.drop(columns="churn")
y = df["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
model = RandomForestClassifier(random_state=0).fit(X_train, y_train)
print("held-out accuracy", model.score(X_test, y_test))
production = RandomForestClassifier(random_state=0).fit(X, y)
joblib.dump(production, "model.joblib")
