# Pipeline factory shared by experiments.
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression


def build_pipeline(c=1.0):
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
