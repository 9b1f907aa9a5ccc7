# label: NO-LEAK
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression


class Experiment:
    def __init__(self, path):
        df = pd.read_csv(path)
        self.X = df.drop(columns="y")
        self.y = df["y"]

    def split(self):
        self.X_tr, self.X_te, self.y_tr, self.y_te = train_test_split(self.X, self.y, random_state=0)

    def prepare(self):
        self.scaler = StandardScaler().fit(self.X_tr)
        self.X_tr = self.scaler.transform(self.X_tr)
        self.X_te = self.scaler.transform(self.X_te)

    def run(self):
        self.split()
        self.prepare()
        return LogisticRegression().fit(self.X_tr, self.y_tr).score(self.X_te, self.y_te)


print(Experiment("data.csv").run())
