# label: NO-LEAK
# Separate train and test files, statistics from the training file only.
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
cols = ["a", "b", "c"]
train[cols] = train[cols].fillna(train[cols].mean())
test[cols] = test[cols].fillna(train[cols].mean())
scaler = StandardScaler().fit(train[cols])
clf = LogisticRegression().fit(scaler.transform(train[cols]), train["y"])
print(clf.score(scaler.transform(test[cols]), test["y"]))
