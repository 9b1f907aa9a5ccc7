# label: NO-LEAK
import pandas as pd
from sklearn.pipeline import make_pipeline
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.linear_model import Ridge

df = pd.read_csv("sessions.csv")
X = df.drop(columns=["user_id", "duration"])
y = df["duration"]
res = cross_validate(make_pipeline(SimpleImputer(), Ridge()), X, y, groups=df["user_id"], cv=GroupKFold(5))
print(res["test_score"].mean())
