# label: NO-LEAK
# The scaler lives in the pipeline, so each fold fits its own.
from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

X, y = load_breast_cancer(return_X_y=True)
pipe = make_pipeline(StandardScaler(), SVC(C=1.0))
print(cross_val_score(pipe, X, y, cv=5).mean())
