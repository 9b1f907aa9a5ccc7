# label: LEAK kind=overlap
# Synthetic minority rows are interpolated from rows that end up in the test set.
import pandas as pd
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import recall_score

df = pd.read_csv("transactions.csv")
X = df.drop(columns=["fraud"])
y = df["fraud"]
X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
X_train, X_test, y_train, y_test = train_test_split(X_res, y_res, test_size=0.2, random_state=0)
rf = RandomForestClassifier(random_state=0).fit(X_train, y_train)
print(recall_score(y_test, rf.predict(X_test)))
