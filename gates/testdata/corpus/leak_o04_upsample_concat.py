# label: LEAK kind=overlap
# Upsampling by resampling with replacement, before the split.
import pandas as pd
from sklearn.utils import resample
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("churn.csv")
majority = df[df.churn == 0]
minority = df[df.churn == 1]
minority_up = resample(minority, replace=True, n_samples=len(majority), random_state=123)
balanced = pd.concat([majority, minority_up])
X = balanced.drop(columns="churn")
y = balanced["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print(LogisticRegression(max_iter=1000).fit(X_train, y_train).score(X_test, y_test))
