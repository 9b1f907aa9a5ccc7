# label: LEAK kind=preprocessing
# The textbook case: the scaler sees every row before the split.
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("heart.csv")
X = df.drop(columns=["target"])
y = df["target"]

scaler = StandardScaler()
X_scaled = scaler.fit_transform(X)

X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, test_size=0.25, random_state=0)
clf = LogisticRegression(max_iter=1000).fit(X_train, y_train)
print("accuracy", clf.score(X_test, y_test))
