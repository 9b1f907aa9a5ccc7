# label: LEAK kind=preprocessing
# Missing values filled with the median of all rows, test rows included.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import Ridge

data = pd.read_csv("houses.csv")
data = data.fillna(data.median(numeric_only=True))
X = data[["area", "rooms", "age"]]
y = data["price"]
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=3)
reg = Ridge(alpha=1.0).fit(X_train, y_train)
print(reg.score(X_test, y_test))
