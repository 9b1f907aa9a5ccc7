# label: LEAK kind=group
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

orders = pd.read_csv("orders.csv")
customers = pd.read_csv("customers.csv")
df = orders.merge(customers, on="customer_id")
X = df[["amount", "items", "age"]]
y = df["returned"]
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print(LogisticRegression().fit(X_train, y_train).score(X_test, y_test))
