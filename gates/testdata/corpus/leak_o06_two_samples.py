# label: LEAK kind=overlap
# Train and test are two independent random samples of the same table.
import pandas as pd
from sklearn.tree import DecisionTreeRegressor

df = pd.read_csv("taxi.csv")
train = df.sample(frac=0.8, random_state=1)
test = df.sample(frac=0.2, random_state=2)
features = ["distance", "passengers", "hour"]
reg = DecisionTreeRegressor(max_depth=6, random_state=0)
reg.fit(train[features], train["fare"])
print(reg.score(test[features], test["fare"]))
