# label: LEAK kind=time
# Rolling-window features and ShuffleSplit.
import pandas as pd
from sklearn.model_selection import ShuffleSplit
from sklearn.ensemble import RandomForestRegressor

prices = pd.read_csv("prices.csv")
prices["ma_5"] = prices["close"].rolling(5).mean()
prices["ret_1"] = prices["close"].pct_change()
prices = prices.dropna()
X = prices[["ma_5", "ret_1"]].values
y = prices["next_close"].values
ss = ShuffleSplit(n_splits=5, test_size=0.2, random_state=0)
for tr, te in ss.split(X):
    model = RandomForestRegressor(random_state=0).fit(X[tr], y[tr])
    print(model.score(X[te], y[te]))
