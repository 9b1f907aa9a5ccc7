# label: LEAK kind=preprocessing
# Features chosen by their correlation with the target over all rows.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.linear_model import Lasso

df = pd.read_csv("genes.csv")
corr = df.corr()["phenotype"].abs().drop("phenotype")
top = corr.sort_values(ascending=False).index[:50]

X = df[top]
y = df["phenotype"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=2)
print(Lasso(alpha=0.01).fit(X_train, y_train).score(X_test, y_test))
