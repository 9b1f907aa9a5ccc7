# label: NO-LEAK
import pandas as pd
from sklearn.preprocessing import MinMaxScaler
from sklearn.linear_model import LinearRegression

df = pd.read_csv("stock.csv").sort_values("date")
df["ret_lag1"] = df["ret"].shift(1)
df = df.dropna()
split = int(len(df) * 0.8)
train, test = df.iloc[:split], df.iloc[split:]
scaler = MinMaxScaler().fit(train[["ret_lag1", "volume"]])
model = LinearRegression().fit(scaler.transform(train[["ret_lag1", "volume"]]), train["ret"])
print(model.score(scaler.transform(test[["ret_lag1", "volume"]]), test["ret"]))
