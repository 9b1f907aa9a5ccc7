# label: LEAK kind=preprocessing
# Target encoding by hand: category means of the label over all rows.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import GradientBoostingClassifier

df = pd.read_csv("clicks.csv")
means = df.groupby("city")["clicked"].mean()
df["city_te"] = df["city"].map(means)

X = df[["city_te", "hour", "device_type"]]
y = df["clicked"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
gbm = GradientBoostingClassifier(random_state=0).fit(X_train, y_train)
print(gbm.score(X_test, y_test))
