# label: LEAK kind=preprocessing
# Normalisation by column statistics of the full table.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

df = pd.read_csv("sensors.csv")
features = ["temp", "pressure", "humidity"]
df[features] = (df[features] - df[features].mean()) / df[features].std()

train, test = train_test_split(df, test_size=0.2, random_state=7)
svc = SVC().fit(train[features], train["fault"])
print(svc.score(test[features], test["fault"]))
