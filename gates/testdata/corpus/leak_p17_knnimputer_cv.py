# label: LEAK kind=preprocessing
# KNN imputation uses neighbours from every row, then the data is cross-validated.
import pandas as pd
from sklearn.impute import KNNImputer
from sklearn.model_selection import cross_validate
from sklearn.ensemble import HistGradientBoostingRegressor

frame = pd.read_csv("air_quality.csv")
target = frame.pop("pm25")
imputed = KNNImputer(n_neighbors=5).fit_transform(frame)
result = cross_validate(HistGradientBoostingRegressor(random_state=0), imputed, target, cv=5,
                        scoring="neg_mean_absolute_error")
print(result["test_score"].mean())
