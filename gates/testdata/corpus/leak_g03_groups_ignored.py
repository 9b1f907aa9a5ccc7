# label: LEAK kind=group
# groups= is passed, but StratifiedKFold ignores it.
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.linear_model import LogisticRegression

visits = pd.read_csv("visits.csv")
X = visits[["age", "bmi", "bp"]]
y = visits["readmitted"]
skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
print(cross_val_score(LogisticRegression(max_iter=500), X, y, groups=visits["user_id"], cv=skf).mean())
