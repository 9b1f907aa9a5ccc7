# label: NO-LEAK
# Chronological hold-out: the last 20% of days.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import Ridge

df = pd.read_csv("energy.csv", parse_dates=["timestamp"]).sort_values("timestamp")
df["lag_24"] = df["load"].shift(24)
df = df.dropna()
X_train, X_test, y_train, y_test = train_test_split(df[["lag_24", "temp"]], df["load"], test_size=0.2, shuffle=False)
print(Ridge().fit(X_train, y_train).score(X_test, y_test))
