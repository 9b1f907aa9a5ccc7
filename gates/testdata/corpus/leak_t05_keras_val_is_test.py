# label: LEAK kind=test-in-training
# Keras early stopping and checkpointing on the test data.
import numpy as np
from tensorflow import keras
from sklearn.model_selection import train_test_split

X = np.load("X.npy")
y = np.load("y.npy")
x_train, x_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
stop = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
model.fit(x_train, y_train, epochs=100, validation_data=(x_test, y_test), callbacks=[stop])
print(model.evaluate(x_test, y_test))
