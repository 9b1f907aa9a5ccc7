# label: NO-LEAK
# Encoding the label vocabulary is not a statistic of the features.
import pandas as pd
from sklearn.preprocessing import LabelEncoder
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

df = pd.read_csv("penguins.csv").dropna()
y = LabelEncoder().fit_transform(df["species"])
X = df[["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]]
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print(DecisionTreeClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test))
