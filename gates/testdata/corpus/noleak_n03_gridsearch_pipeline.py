# label: NO-LEAK
# Tuning by cross-validation on the training rows; one final test score.
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.ensemble import GradientBoostingClassifier

df = pd.read_csv("loans.csv")
X_train, X_test, y_train, y_test = train_test_split(df.drop(columns="label"), df["label"], random_state=0)
pipe = Pipeline([
    ("impute", SimpleImputer()),
    ("scale", StandardScaler()),
    ("gbm", GradientBoostingClassifier(random_state=0)),
])
search = GridSearchCV(pipe, {"gbm__max_depth": [2, 3, 4]}, cv=5)
search.fit(X_train, y_train)
print(search.best_params_, search.score(X_test, y_test))
