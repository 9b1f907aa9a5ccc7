# label: LEAK kind=time
# Lag features, then a shuffled split: tomorrow trains the model that predicts today.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import GradientBoostingRegressor

sales = pd.read_csv("sales.csv", parse_dates=["date"])
sales = sales.sort_values("date")
sales["lag_1"] = sales["units"].shift(1)
sales["lag_7"] = sales["units"].shift(7)
sales = sales.dropna()
X = sales[["lag_1", "lag_7", "price"]]
y = sales["units"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
print(GradientBoostingRegressor(random_state=0).fit(X_train, y_train).score(X_test, y_test))
