# label: NO-LEAK
# A random sample and its complement: disjoint train and test.
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LinearRegression

df = pd.read_csv("taxi.csv")
train = df.sample(frac=0.8, random_state=1)
test = df.drop(train.index)
features = ["distance", "passengers"]
scaler = StandardScaler().fit(train[features])
reg = LinearRegression().fit(scaler.transform(train[features]), train["fare"])
print(reg.score(scaler.transform(test[features]), test["fare"]))
