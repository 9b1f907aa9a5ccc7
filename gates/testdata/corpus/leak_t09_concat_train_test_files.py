# label: LEAK kind=test-in-training
# Train and test come from separate files, and are glued together for training.
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

train_df = pd.read_csv("data/train.csv")
test_df = pd.read_csv("data/test.csv")
full = pd.concat([train_df, test_df], ignore_index=True)
features = ["lat", "lon", "rooms"]
model = RandomForestRegressor(random_state=0)
model.fit(full[features], full["price"])
print("test R2:", model.score(test_df[features], test_df["price"]))
