# label: LEAK kind=preprocessing
# A percentile-rank feature depends on where each row sits among all rows.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LinearRegression

df = pd.read_csv("salaries.csv")
df["exp_rank"] = df["experience"].rank(pct=True)
df["income_q"] = pd.qcut(df["income"], 10, labels=False)

X = df[["exp_rank", "income_q", "age"]]
y = df["salary"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=5)
lr = LinearRegression().fit(X_train, y_train)
print(lr.score(X_test, y_test))
