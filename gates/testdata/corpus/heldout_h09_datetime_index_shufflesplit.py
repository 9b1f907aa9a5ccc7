# label: LEAK kind=time
import pandas as pd
from sklearn.model_selection import cross_val_score, ShuffleSplit
from sklearn.ensemble import RandomForestRegressor

df = pd.read_csv("traffic.csv")
df.index = pd.to_datetime(df["date"])
df["dow"] = df.index.dayofweek
X = df[["dow", "rain"]]
y = df["count"]
print(cross_val_score(RandomForestRegressor(random_state=0), X, y, cv=ShuffleSplit(5, random_state=0)).mean())
