"""Figures in scikit-learn's Display style: training curves, prediction grids, F1 bars."""

# SPDX-License-Identifier: MIT

import numpy as np

__all__ = ["PredictionGridDisplay", "TrainingCurvesDisplay", "plot_per_class_f1"]


class TrainingCurvesDisplay:
    """Loss and accuracy per epoch, training against validation.

    Parameters
    ----------
    history : dict of list of float
        ``loss``, ``accuracy`` and optionally ``val_loss``, ``val_accuracy``
        (the ``history_`` of a skfmnist classifier).
    name : str, default=None
        Model name for the titles.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        Loss and accuracy axes.
    figure_ : matplotlib Figure
        The figure.
    """

    def __init__(self, history, *, name=None):
        self.history = history
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, *, name=None, axes=None):
        """Plot the curves of a fitted classifier or pipeline.

        Parameters
        ----------
        estimator : classifier or Pipeline
            Fitted skfmnist classifier (or a pipeline ending in one).
        name : str, default=None
            Model name for the titles.
        axes : array of 2 matplotlib Axes, default=None
            Where to draw; new ones when None.

        Returns
        -------
        display : TrainingCurvesDisplay
        """
        clf = estimator[-1] if hasattr(estimator, "steps") else estimator
        return cls(clf.history_, name=name).plot(axes=axes)

    def plot(self, *, axes=None):
        """Draw the curves.

        Parameters
        ----------
        axes : array of 2 matplotlib Axes, default=None
            Where to draw; new ones when None.

        Returns
        -------
        display : TrainingCurvesDisplay
        """
        import matplotlib.pyplot as plt

        if axes is None:
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        axes = np.asarray(axes).ravel()
        epochs = np.arange(1, len(self.history["loss"]) + 1)
        for ax, metric in zip(axes, ("loss", "accuracy")):
            if metric not in self.history:  # a network compiled by its builder without an accuracy metric
                ax.text(0.5, 0.5, f"no {metric} recorded", ha="center", va="center", transform=ax.transAxes)
                ax.set_axis_off()
                continue
            ax.plot(epochs, self.history[metric], "o-", label="train")
            if f"val_{metric}" in self.history:
                ax.plot(epochs, self.history[f"val_{metric}"], "s--", label="validation")
            ax.set_xlabel("epoch")
            ax.set_ylabel(metric)
            ax.set_title(f"{self.name}: {metric}" if self.name else metric)
            ax.grid(alpha=0.3)
            ax.legend()
        self.axes_ = axes
        self.figure_ = axes[0].figure
        self.figure_.tight_layout()
        return self


class PredictionGridDisplay:
    """A grid of images with their true and predicted labels.

    Parameters
    ----------
    images : ndarray of shape (n, height, width) or (n, height*width)
        Images to show (square when flat).
    y_true, y_pred : ndarray of shape (n,)
        True and predicted labels.
    confidence : ndarray of shape (n,), default=None
        Probability of the predicted class, shown when given.
    class_names : list of str, default=None
        Names for integer labels.
    title : str, default=None
        Figure title.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, images, y_true, y_pred, *, confidence=None, class_names=None, title=None):
        self.images = images
        self.y_true = y_true
        self.y_pred = y_pred
        self.confidence = confidence
        self.class_names = class_names
        self.title = title

    @classmethod
    def from_predictions(
        cls, images, y_true, y_pred, *, proba=None, kind="sample", n_images=25, class_names=None,
        title=None, random_state=0,
    ):
        """Choose images from predictions and plot them.

        Parameters
        ----------
        images : ndarray of shape (n_samples, ...)
            All test images.
        y_true, y_pred : ndarray of shape (n_samples,)
            Labels and predictions.
        proba : ndarray of shape (n_samples, n_classes), default=None
            Predicted probabilities (needed for ``kind="wrong"``).
        kind : {"sample", "wrong"}, default="sample"
            A random sample, or the most confidently wrong predictions.
        n_images : int, default=25
            How many images.
        class_names : list of str, default=None
            Names for integer labels.
        title : str, default=None
            Figure title.
        random_state : int, default=0
            Seed of the random sample.

        Returns
        -------
        display : PredictionGridDisplay
        """
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        confidence = None if proba is None else np.asarray(proba).max(axis=1)
        if kind == "wrong":
            if confidence is None:
                raise ValueError("kind='wrong' needs proba to rank the mistakes by confidence.")
            wrong = np.flatnonzero(y_true != y_pred)
            idx = wrong[np.argsort(-confidence[wrong], kind="stable")][:n_images]
        elif kind == "sample":
            rng = np.random.default_rng(random_state)
            idx = np.sort(rng.choice(len(y_true), size=min(n_images, len(y_true)), replace=False))
        else:
            raise ValueError(f"kind must be 'sample' or 'wrong', got {kind!r}.")
        return cls(
            np.asarray(images)[idx], y_true[idx], y_pred[idx],
            confidence=None if confidence is None else confidence[idx],
            class_names=class_names, title=title,
        ).plot()

    def _name(self, label):
        if self.class_names is not None and np.issubdtype(np.asarray(label).dtype, np.integer):
            return self.class_names[int(label)]
        return str(label)

    def plot(self, *, n_cols=5):
        """Draw the grid.

        Parameters
        ----------
        n_cols : int, default=5
            Images per row.

        Returns
        -------
        display : PredictionGridDisplay
        """
        import matplotlib.pyplot as plt

        n = max(len(self.y_true), 1)
        n_rows = int(np.ceil(n / n_cols))
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.1 * n_cols, 2.4 * n_rows), squeeze=False)
        for i, ax in enumerate(axes.ravel()):
            ax.axis("off")
            if i >= len(self.y_true):
                continue
            img = np.asarray(self.images[i])
            if img.ndim == 1:
                side = int(np.sqrt(img.size))
                img = img.reshape(side, -1)
            ax.imshow(img.squeeze(), cmap="gray_r")
            ok = self.y_true[i] == self.y_pred[i]
            text = f"pred: {self._name(self.y_pred[i])}"
            if self.confidence is not None:
                text += f" ({self.confidence[i]:.0%})"
            color = "tab:green" if ok else "tab:red"
            ax.set_title(f"{text}\ntrue: {self._name(self.y_true[i])}", fontsize=8, color=color)
        if self.title:
            fig.suptitle(self.title)
        fig.tight_layout()
        self.axes_, self.figure_ = axes, fig
        return self


def plot_per_class_f1(f1_by_model, class_names, *, ax=None):
    """Grouped bar chart of per-class F1 for several models.

    Parameters
    ----------
    f1_by_model : dict of str to array-like of shape (n_classes,)
        F1 per class for each model.
    class_names : list of str
        Class names.
    ax : matplotlib Axes, default=None
        Where to draw.

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 4))
    n_models = len(f1_by_model)
    width = 0.8 / max(n_models, 1)
    x = np.arange(len(class_names))
    for i, (name, f1) in enumerate(f1_by_model.items()):
        ax.bar(x + (i - (n_models - 1) / 2) * width, f1, width, label=name)
    ax.set_xticks(x, class_names, rotation=30, ha="right")
    ax.set_ylabel("F1 score")
    ax.set_ylim(0, 1.05)
    ax.set_title("Per-class F1 on the test set")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    ax.figure.tight_layout()
    return ax
