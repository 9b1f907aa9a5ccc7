# label: LEAK kind=preprocessing
# Column means over all rows, then a positional hold-out with iloc.
import pandas as pd
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("survey.csv")
for col in ["age", "income", "score"]:
    df[col] = df[col].fillna(df[col].mean())
train = df.iloc[:800]
test = df.iloc[800:]
cols = ["age", "income", "score"]
clf = LogisticRegression().fit(train[cols], train["answer"])
print(clf.score(test[cols], test["answer"]))
