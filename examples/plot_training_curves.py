"""
Training curves, confusion matrices and the model's mistakes
============================================================

Validation data given to ``fit`` is scored after every epoch; the curves,
scikit-learn's ``ConfusionMatrixDisplay`` and a grid of the most confidently
wrong predictions show what the network learnt.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split

from skfmnist import CNNClassifier, PixelScaler, fetch_fashion_mnist
from skfmnist.datasets import CLASS_NAMES
from skfmnist.evaluation import PredictionGridDisplay, TrainingCurvesDisplay

X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
X, _, y, _ = train_test_split(X, y, train_size=6000, stratify=y, random_state=0)
images = PixelScaler().fit_transform(X.reshape(-1, 28, 28))
X_fit, X_val, y_fit, y_val = train_test_split(images, y, test_size=1000, stratify=y, random_state=0)

clf = CNNClassifier(epochs=6, random_state=0).fit(X_fit, y_fit, X_val=X_val, y_val=y_val)
TrainingCurvesDisplay.from_estimator(clf, name="CNN")
plt.show()

# %%
ConfusionMatrixDisplay.from_estimator(clf, X_val, y_val, display_labels=CLASS_NAMES, normalize="true",
                                      values_format=".2f", xticks_rotation=45, colorbar=False)
plt.tight_layout()
plt.show()

# %%
proba = clf.predict_proba(X_val)
PredictionGridDisplay.from_predictions(X_val, y_val, clf.classes_[proba.argmax(1)], proba=proba, kind="wrong",
                                       n_images=10, class_names=CLASS_NAMES, title="most confidently wrong")
plt.show()
