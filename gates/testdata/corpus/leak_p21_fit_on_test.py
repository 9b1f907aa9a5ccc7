# label: LEAK kind=preprocessing
# The scaler is refitted on the test rows instead of reusing the training fit.
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

df = pd.read_csv("digits.csv")
X_train, X_test, y_train, y_test = train_test_split(df.drop(columns="digit"), df["digit"], random_state=0)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.fit_transform(X_test)
mlp = MLPClassifier(max_iter=300, random_state=0).fit(X_train, y_train)
print(mlp.score(X_test, y_test))
