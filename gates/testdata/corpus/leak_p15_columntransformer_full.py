# label: LEAK kind=preprocessing
# The preprocessor is fitted on all rows after the split, then applied to both sides.
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("churn.csv")
X = df.drop(columns=["churn"])
y = df["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

pre = ColumnTransformer([
    ("num", StandardScaler(), ["tenure", "charges"]),
    ("cat", OneHotEncoder(handle_unknown="ignore"), ["contract", "payment"]),
])
pre.fit(X)
clf = LogisticRegression(max_iter=1000)
clf.fit(pre.transform(X_train), y_train)
print(clf.score(pre.transform(X_test), y_test))
