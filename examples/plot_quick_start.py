"""
Quick start: a pipeline on Fashion-MNIST
========================================

Fetch the data, fit the dense pipeline on a few thousand images and evaluate it
with scikit-learn's own tools.
"""

# %%
# The data: 60,000 training and 10,000 test images of 28 x 28 pixels, as rows of 784 values 0-255.
from sklearn.model_selection import train_test_split

from skfmnist import fetch_fashion_mnist, make_model_pipeline

X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
X_test, y_test = fetch_fashion_mnist(subset="test", return_X_y=True)
X, _, y, _ = train_test_split(X, y, train_size=5000, stratify=y, random_state=0)

# %%
# A pipeline scales the pixels, reshapes the rows into images and classifies them.
pipe = make_model_pipeline("dense", epochs=10, random_state=0)
pipe.fit(X, y)
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# Everything scikit-learn offers for classifiers works on it.
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay, classification_report

from skfmnist.datasets import CLASS_NAMES

y_pred = pipe.predict(X_test)
print(classification_report(y_test, y_pred, target_names=CLASS_NAMES))
ConfusionMatrixDisplay.from_predictions(y_test, y_pred, display_labels=CLASS_NAMES, normalize="true",
                                        values_format=".2f", xticks_rotation=45, colorbar=False)
plt.tight_layout()
plt.show()
