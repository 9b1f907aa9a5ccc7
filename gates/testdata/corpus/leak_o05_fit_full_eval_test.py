# label: LEAK kind=overlap
# The model is trained on all rows and then "evaluated" on the test split.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.metrics import accuracy_score

df = pd.read_csv("iris.csv")
X = df.drop(columns="species")
y = df["species"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=1)
model = ExtraTreesClassifier(random_state=1)
model.fit(X, y)
print("test accuracy:", accuracy_score(y_test, model.predict(X_test)))
