# label: NO-LEAK
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

df = pd.read_csv("spam.csv")
y = df["spam"]
print(y.value_counts(normalize=True))
print(df.isna().mean())
X_train, X_test, y_train, y_test = train_test_split(df.drop(columns="spam"), y, stratify=y, random_state=0)
model = make_pipeline(StandardScaler(), SVC()).fit(X_train, y_train)
print(model.score(X_test, y_test))
