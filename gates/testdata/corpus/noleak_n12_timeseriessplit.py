# label: NO-LEAK
# Lag features with forward-chaining cross-validation.
import pandas as pd
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.ensemble import GradientBoostingRegressor

sales = pd.read_csv("sales.csv", parse_dates=["date"]).sort_values("date")
sales["lag_1"] = sales["units"].shift(1)
sales = sales.dropna()
tscv = TimeSeriesSplit(n_splits=5)
print(cross_val_score(GradientBoostingRegressor(random_state=0), sales[["lag_1", "price"]], sales["units"], cv=tscv).mean())
