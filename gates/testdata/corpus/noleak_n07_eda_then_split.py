# label: NO-LEAK
# Statistics of the full table are only printed; the model sees none of them.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LinearRegression

df = pd.read_csv("houses.csv")
print(df.describe())
print(df.mean(numeric_only=True))
print(df.corr(numeric_only=True)["price"].sort_values())
X_train, X_test, y_train, y_test = train_test_split(df[["area", "rooms"]], df["price"], random_state=0)
scaler = StandardScaler().fit(X_train)
model = LinearRegression().fit(scaler.transform(X_train), y_train)
print(model.score(scaler.transform(X_test), y_test))
