# label: NO-LEAK
# Split at a date cut-off, scaler fitted on the past.
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import Ridge

df = pd.read_csv("demand.csv", parse_dates=["date"])
cutoff = pd.Timestamp("2023-01-01")
train = df[df["date"] < cutoff]
test = df[df["date"] >= cutoff]
cols = ["temp", "price"]
scaler = StandardScaler().fit(train[cols])
model = Ridge().fit(scaler.transform(train[cols]), train["demand"])
print(model.score(scaler.transform(test[cols]), test["demand"]))
