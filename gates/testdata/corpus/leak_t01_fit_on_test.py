# label: LEAK kind=test-in-training
# A typo trains the model on the test rows.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

df = pd.read_csv("titanic.csv")
X = df[["pclass", "age", "fare"]].fillna(0)
y = df["survived"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
forest = RandomForestClassifier(n_estimators=300, random_state=0)
forest.fit(X_test, y_test)
print(forest.score(X_test, y_test))
