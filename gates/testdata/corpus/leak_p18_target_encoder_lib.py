# label: LEAK kind=preprocessing
# A target encoder from category_encoders fitted before the split.
import pandas as pd
import category_encoders as ce
from sklearn.model_selection import train_test_split
from lightgbm import LGBMClassifier

df = pd.read_csv("fraud.csv")
y = df["is_fraud"]
X = df.drop(columns=["is_fraud"])
enc = ce.TargetEncoder(cols=["merchant", "country"])
X = enc.fit_transform(X, y)
X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.2, random_state=0)
model = LGBMClassifier(n_estimators=300)
model.fit(X_train, y_train)
print(model.score(X_valid, y_valid))
