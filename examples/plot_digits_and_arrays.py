"""
Other images: scikit-learn's digits and your own arrays
=======================================================

Any channels-last images work, of any size and number of channels.  The
digits are 8 x 8 pixels with values 0-16, which the scaler is told; their
classes change in a mirror image, so the deep CNN trains without
mirror images (``horizontal_flip=False``).
"""

# %%
from skfmnist import load_digits_images, make_model_pipeline

digits = load_digits_images()
for name, params in [("dense", {"epochs": 20}), ("cnn", {"epochs": 12}),
                     ("deep_cnn", {"epochs": 20, "horizontal_flip": False})]:
    pipe = make_model_pipeline(name, max_value=digits.max_value, random_state=0, **params)
    pipe.fit(digits.X_train, digits.y_train)
    print(f"{name}: test accuracy {pipe.score(digits.X_test, digits.y_test):.3f}, input {pipe[-1].input_shape_}")

# %%
# Your own arrays, from a NumPy ``.npz`` file (what ``skfmnist compare --data FILE.npz`` reads):
# here small colour images of three classes, told apart by their colour.
import tempfile
from pathlib import Path

import numpy as np

from skfmnist import load_arrays

rng = np.random.default_rng(0)


def colour_images(n):
    y = np.arange(n) % 3
    X = rng.integers(0, 100, size=(n, 16, 16, 3))
    X[y == 1, :, :, 0] += 150  # red
    X[y == 2, :, :, 2] += 150  # blue
    return X.astype(np.uint8), y


path = Path(tempfile.mkdtemp()) / "colours.npz"
(X_train, y_train), (X_test, y_test) = colour_images(300), colour_images(90)
np.savez(path, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
         class_names=np.array(["grey", "red", "blue"]))

data = load_arrays(path)
pipe = make_model_pipeline("cnn", max_value=data.max_value, epochs=5, random_state=0)
pipe.fit(data.X_train, data.y_train)
print(f"colours: test accuracy {pipe.score(data.X_test, data.y_test):.3f}, images {pipe[-1].input_shape_}")
