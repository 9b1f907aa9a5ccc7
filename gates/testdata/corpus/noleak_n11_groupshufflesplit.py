# label: NO-LEAK
# A train/test split by subject.
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("eeg.csv")
X = df.drop(columns=["subject_id", "label"]).values
y = df["label"].values
gss = GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
train_idx, test_idx = next(gss.split(X, y, groups=df["subject_id"]))
clf = LogisticRegression(max_iter=1000).fit(X[train_idx], y[train_idx])
print(clf.score(X[test_idx], y[test_idx]))
