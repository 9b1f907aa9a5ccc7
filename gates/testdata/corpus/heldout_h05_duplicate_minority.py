# label: LEAK kind=overlap
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

df = pd.read_csv("defects.csv")
minority = df[df["defect"] == 1]
df = pd.concat([df, minority, minority])
X_train, X_test, y_train, y_test = train_test_split(df.drop(columns="defect"), df["defect"], random_state=0)
print(DecisionTreeClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test))
