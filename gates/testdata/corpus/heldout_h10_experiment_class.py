# label: LEAK kind=preprocessing
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression


class Experiment:
    def __init__(self, path):
        df = pd.read_csv(path)
        self.X = df.drop(columns="y")
        self.y = df["y"]
        self.scaler = StandardScaler()

    def prepare(self):
        self.X = self.scaler.fit_transform(self.X)

    def split(self):
        self.X_tr, self.X_te, self.y_tr, self.y_te = train_test_split(self.X, self.y, random_state=0)

    def run(self):
        self.prepare()
        self.split()
        model = LogisticRegression().fit(self.X_tr, self.y_tr)
        return model.score(self.X_te, self.y_te)


print(Experiment("data.csv").run())
