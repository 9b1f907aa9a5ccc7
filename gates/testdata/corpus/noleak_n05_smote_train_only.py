# label: NO-LEAK
# SMOTE on the training rows after the split.
import pandas as pd
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import recall_score

df = pd.read_csv("transactions.csv")
X_train, X_test, y_train, y_test = train_test_split(df.drop(columns="fraud"), df["fraud"], stratify=df["fraud"], random_state=0)
X_res, y_res = SMOTE(random_state=0).fit_resample(X_train, y_train)
rf = RandomForestClassifier(random_state=0).fit(X_res, y_res)
print(recall_score(y_test, rf.predict(X_test)))
