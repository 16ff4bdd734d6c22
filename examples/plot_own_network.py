"""
Your own network
================

:class:`skfmnist.KerasClassifier` takes a function that builds a Keras network
from scikeras' ``meta`` (the input shape, the number of classes) and
parameters of its own, which are estimator parameters like any other.
"""

# %%
import keras
from sklearn.model_selection import GridSearchCV, train_test_split

from skfmnist import KerasClassifier, fetch_fashion_mnist


def small_cnn(meta, filters=16, dense_units=64):
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Conv2D(filters, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(dense_units, activation="relu"),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])


X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
X, _, y, _ = train_test_split(X, y, train_size=3000, stratify=y, random_state=0)
images = X.reshape(-1, 28, 28, 1) / 255.0  # channels-last images

# %%
# The builder's parameters are tuned like the estimator's own.
clf = KerasClassifier(small_cnn, epochs=4, batch_size=64, random_state=0)
search = GridSearchCV(clf, {"model__filters": [8, 16], "learning_rate": [1e-3, 3e-3]}, cv=2)
search.fit(images, y)
print(search.best_params_, f"{search.best_score_:.3f}")
best = search.best_estimator_
best.model_.summary()

# %%
# Training curves from ``history_``.
import matplotlib.pyplot as plt

from skfmnist.evaluation import TrainingCurvesDisplay

TrainingCurvesDisplay.from_estimator(best, name="small CNN")
plt.show()
