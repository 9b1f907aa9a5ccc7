# label: UNDER-SEEDED kind=random_state
import pandas as pd
from sklearn.cluster import KMeans

df = pd.read_csv("points.csv")
km = KMeans(n_clusters=3, n_init=10).fit(df[["x", "y"]])
print(km.inertia_)
