# label: NO-LEAK
# The clipping bounds come from the training rows alone and are then applied
# to both sides.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import GradientBoostingRegressor

df = pd.read_parquet("houses.parquet")
cols = ["area", "rooms", "lot", "age"]
X_train, X_test, y_train, y_test = train_test_split(df[cols], df["price"], test_size=0.2, random_state=3)
lo = X_train.quantile(0.01)
hi = X_train.quantile(0.99)
X_train = X_train.clip(lower=lo, upper=hi, axis=1)
X_test = X_test.clip(lower=lo, upper=hi, axis=1)
model = GradientBoostingRegressor(random_state=3).fit(X_train, y_train)
print(model.score(X_test, y_test))
