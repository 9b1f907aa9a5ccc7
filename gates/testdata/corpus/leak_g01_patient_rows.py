# label: LEAK kind=group
# Several scans per patient, split by scan.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

scans = pd.read_csv("scans.csv")
print(scans.groupby("patient_id").size().describe())
X = scans.drop(columns=["patient_id", "diagnosis"])
y = scans["diagnosis"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
clf = RandomForestClassifier(random_state=0).fit(X_train, y_train)
print(clf.score(X_test, y_test))
