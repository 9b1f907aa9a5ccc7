# label: NO-LEAK
# Aggregated to one row per patient before the split: no patient is on both sides.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

visits = pd.read_csv("visits.csv")
per_patient = visits.groupby("patient_id").agg(mean_bp=("bp", "mean"), n_visits=("bp", "size"), outcome=("outcome", "max"))
X = per_patient[["mean_bp", "n_visits"]]
y = per_patient["outcome"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
print(LogisticRegression().fit(X_train, y_train).score(X_test, y_test))
