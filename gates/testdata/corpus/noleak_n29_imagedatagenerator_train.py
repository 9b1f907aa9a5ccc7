# label: NO-LEAK
# The generator's statistics and its augmented batches come from the training
# images only; the test images are standardised with those statistics.
import numpy as np
from tensorflow import keras
from tensorflow.keras.preprocessing.image import ImageDataGenerator
from sklearn.model_selection import train_test_split

images = np.load("digits.npy")
labels = np.load("digit_labels.npy")
X_tr, X_te, y_tr, y_te = train_test_split(images, labels, test_size=0.2, random_state=4, stratify=labels)

gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True, rotation_range=8)
gen.fit(X_tr)
model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(gen.flow(X_tr, y_tr, batch_size=64), epochs=5)
print(model.evaluate(gen.standardize(X_te.astype("float32")), y_te))
