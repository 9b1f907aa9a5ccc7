# label: LEAK kind=overlap
# One augmented copy of every image joins the pool before the split: the
# shifted twin of a test image is likely to be in the training set.
import numpy as np
from tensorflow.keras.preprocessing.image import ImageDataGenerator
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

images = np.load("digits.npy")
labels = np.load("digit_labels.npy")
gen = ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, seed=4)
extra_x, extra_y = next(gen.flow(images, labels, batch_size=len(images), shuffle=False))
pool_x = np.concatenate([images, extra_x])
pool_y = np.concatenate([labels, extra_y])

X_tr, X_te, y_tr, y_te = train_test_split(pool_x.reshape(len(pool_x), -1), pool_y, test_size=0.2, random_state=4)
clf = LogisticRegression(max_iter=1000).fit(X_tr, y_tr)
print(clf.score(X_te, y_te))
