# label: LEAK kind=preprocessing
# Outliers are clipped at percentiles of the whole table, so the clipping
# bounds already know where the test rows lie.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import GradientBoostingRegressor

df = pd.read_parquet("houses.parquet")
cols = ["area", "rooms", "lot", "age"]
lo = df[cols].quantile(0.01)
hi = df[cols].quantile(0.99)
df[cols] = df[cols].clip(lower=lo, upper=hi, axis=1)

X_train, X_test, y_train, y_test = train_test_split(df[cols], df["price"], test_size=0.2, random_state=3)
model = GradientBoostingRegressor(random_state=3).fit(X_train, y_train)
print(model.score(X_test, y_test))
