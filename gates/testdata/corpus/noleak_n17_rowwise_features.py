# label: NO-LEAK
# Row-wise feature engineering and constant filling before the split are fine.
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestRegressor

df = pd.read_csv("houses.csv")
df = df.fillna(0)
df["log_area"] = np.log1p(df["area"])
df["rooms_per_floor"] = df["rooms"] / (df["floors"] + 1)
df["row_mean"] = df[["a", "b", "c"]].mean(axis=1)
X_train, X_test, y_train, y_test = train_test_split(df[["log_area", "rooms_per_floor", "row_mean"]], df["price"], random_state=0)
print(RandomForestRegressor(random_state=0).fit(X_train, y_train).score(X_test, y_test))
