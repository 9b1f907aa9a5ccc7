# label: UNDER-SEEDED kind=random_state
# No random_state and no global numpy seed.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

df = pd.read_csv("iris.csv")
X_train, X_test, y_train, y_test = train_test_split(df.drop(columns="species"), df["species"], random_state=0)
rf = RandomForestClassifier(n_estimators=100)
rf.fit(X_train, y_train)
print(rf.score(X_test, y_test))
