# label: LEAK kind=preprocessing
# The imputer is fitted inside a helper, on the whole frame, before the split.
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier


def load(path):
    frame = pd.read_csv(path)
    return frame.drop(columns=["label"]), frame["label"]


def clean(features):
    imputer = SimpleImputer(strategy="median")
    filled = imputer.fit_transform(features)
    return filled


def main():
    X, y = load("loans.csv")
    X = clean(X)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, random_state=1)
    model = RandomForestClassifier(n_estimators=200, random_state=1)
    model.fit(X_tr, y_tr)
    print(model.score(X_te, y_te))


if __name__ == "__main__":
    main()
