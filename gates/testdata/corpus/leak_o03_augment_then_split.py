# label: LEAK kind=overlap
# Flipped copies of every image are added before the split.
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

images = np.load("images.npy")
labels = np.load("labels.npy")
flipped = images[:, :, ::-1]
images_aug = np.concatenate([images, flipped])
labels_aug = np.concatenate([labels, labels])
X = images_aug.reshape(len(images_aug), -1)
X_train, X_test, y_train, y_test = train_test_split(X, labels_aug, test_size=0.2, random_state=0)
print(LinearSVC().fit(X_train, y_train).score(X_test, y_test))
