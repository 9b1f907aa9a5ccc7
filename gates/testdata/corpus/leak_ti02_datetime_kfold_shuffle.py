# label: LEAK kind=time
# Time-indexed data cross-validated with shuffled folds.
import pandas as pd
from sklearn.model_selection import KFold, cross_val_score
from sklearn.linear_model import Ridge

load = pd.read_csv("grid_load.csv")
load["ts"] = pd.to_datetime(load["ts"])
load["hour"] = load["ts"].dt.hour
load = load.set_index("ts")
X = load[["hour", "temperature"]]
y = load["demand"]
folds = KFold(n_splits=10, shuffle=True, random_state=1)
print(cross_val_score(Ridge(), X, y, cv=folds).mean())
