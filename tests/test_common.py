"""scikit-learn's own estimator checks over every public estimator, with its default parameters."""

import pytest
from sklearn.base import is_classifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfmnist import KerasClassifier
from skfmnist.utils.discovery import all_estimators


class SmallNetwork:
    """A user network, as a scikeras builder is written: from ``meta`` and its own parameter.

    A callable object rather than a function so that its repr, which is in every test id, has no memory
    address: pytest-xdist's workers must each collect the same ids.
    """

    def __call__(self, meta, hidden=16):
        import keras

        return keras.Sequential([
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ])

    def __repr__(self):
        return "small_network"


def _instances():
    # check_estimator(Est()): scikit-learn requires its checks to pass with the default parameters
    for name, cls in all_estimators():
        if cls is KerasClassifier:  # the one estimator that needs a network of the user's
            yield cls(SmallNetwork(), epochs=30, learning_rate=0.01)
        else:
            yield cls()


# No minibatch-SGD learner can meet these checks: weighting a sample by 2 is not the same as repeating it
# when the minibatches, the number of steps per epoch and the shuffling differ (scikit-learn exempts
# MLPClassifier and SGDClassifier for the same reason).
_SGD_REASON = "weighting a sample by 2 is not repeating it for a network trained by minibatch SGD"
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": _SGD_REASON,
    "check_sample_weight_equivalence_on_sparse_data": _SGD_REASON,
}


def _expected_failed(estimator):
    return EXPECTED_FAILED if is_classifier(estimator) else {}


@parametrize_with_checks(list(_instances()), expected_failed_checks=_expected_failed)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name, cls", all_estimators("classifier"))
def test_is_classifier(name, cls):
    assert is_classifier(cls())
    assert cls().__sklearn_tags__().estimator_type == "classifier"
