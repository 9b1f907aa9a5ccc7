# label: LEAK kind=preprocessing
# The split comes first in the file, but PCA is then fitted on all rows and
# applied to the test rows: line order alone would call this clean.
import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

X = np.load("embeddings.npy")
y = np.load("labels.npy")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

pca = PCA(n_components=32)
pca.fit(X)
Z_train = pca.transform(X_train)
Z_test = pca.transform(X_test)

knn = KNeighborsClassifier(n_neighbors=5).fit(Z_train, y_train)
print(knn.score(Z_test, y_test))
