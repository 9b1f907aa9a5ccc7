# label: LEAK kind=group
# Subjects contribute many windows; groups are computed and then not used.
import pandas as pd
from sklearn.model_selection import KFold, cross_val_score
from sklearn.ensemble import HistGradientBoostingClassifier

windows = pd.read_csv("har_windows.csv")
groups = windows["subject"]
X = windows.drop(columns=["subject", "activity"])
y = windows["activity"]
cv = KFold(n_splits=5, shuffle=True, random_state=0)
scores = cross_val_score(HistGradientBoostingClassifier(random_state=0), X, y, cv=cv)
print(scores.mean())
