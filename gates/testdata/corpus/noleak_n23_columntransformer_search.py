# label: NO-LEAK
# ColumnTransformer inside the searched pipeline.
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.pipeline import make_pipeline
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("adult.csv")
X_train, X_test, y_train, y_test = train_test_split(df.drop(columns="income"), df["income"], random_state=0)
pre = make_column_transformer((StandardScaler(), ["age", "hours"]), (OneHotEncoder(handle_unknown="ignore"), ["workclass"]))
pipe = make_pipeline(pre, LogisticRegression(max_iter=1000))
search = RandomizedSearchCV(pipe, {"logisticregression__C": [0.01, 0.1, 1, 10]}, n_iter=4, cv=5, random_state=0)
search.fit(X_train, y_train)
print(search.score(X_test, y_test))
