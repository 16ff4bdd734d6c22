"""``max_fit_time``: a training-time budget that re-plans the learning-rate schedule (cosine, one-cycle)."""

import pickle
import types

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.utils._param_validation import InvalidParameterError

from skfmnist import CNNClassifier, DenseClassifier, persistence
from skfmnist.models import _callbacks
from skfmnist.models._schedules import CosineSchedule
from skfmnist.utils._keras import import_keras


@pytest.fixture(scope="module")
def toy():
    X, y = make_classification(n_samples=320, n_features=16, n_informative=8, n_classes=3, random_state=0)
    return X.astype(np.float32), y


class _Clock:
    """A fake ``time.perf_counter`` that a callback moves on by ``epoch_s`` at each epoch."""

    def __init__(self, epoch_s):
        self.now = 1000.0
        self.epoch_s = epoch_s

    def perf_counter(self):
        return self.now


def _advancing(clock):
    keras = import_keras()

    class Advance(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock.now += clock.epoch_s

    return Advance()


@pytest.fixture
def clock(monkeypatch):
    clock = _Clock(10.0)
    monkeypatch.setattr(_callbacks, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    return clock


def _lr(clf):
    """The learning rate the optimizer would use at its current step."""
    return float(np.asarray(clf.model_.optimizer.learning_rate))


def test_cosine_schedule_is_keras_cosine_decay():
    keras = import_keras()
    mine = CosineSchedule(0.002, 100)
    for total in (100, 37):
        mine.plan(total, start_step=0)
        ref = keras.optimizers.schedules.CosineDecay(0.002, total)
        for step in (0, 1, 10, total // 2, total - 1, total, total + 5):
            assert float(mine(step)) == pytest.approx(float(ref(step)), rel=1e-6, abs=1e-12)
    assert float(mine(37)) == 0.0
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(mine))
    assert isinstance(again, CosineSchedule) and float(again(20)) == float(mine(20))


def test_one_cycle_is_keras_cosine_decay_with_a_scaled_warm_up():
    # 30% of the steps rising linearly from peak / 25 to the peak, the rest a half cosine to zero;
    # a new plan rescales both parts
    keras = import_keras()
    mine = CosineSchedule(0.002, 100, warmup_fraction=0.3)
    for total in (100, 50, 7):
        mine.plan(total)
        warmup = 0.3 * total
        ref = keras.optimizers.schedules.CosineDecay(
            0.002 / 25, total - warmup, warmup_target=0.002, warmup_steps=warmup
        )
        for step in (0, 1, int(warmup) // 2, int(warmup), int(warmup) + 1, total - 1, total, total + 5):
            assert float(mine(step)) == pytest.approx(float(ref(step)), rel=1e-5, abs=1e-9)
        assert float(mine(total)) == 0.0
    assert float(mine(2.1)) == pytest.approx(0.002, rel=1e-6)  # the peak, at 30% of 7 steps
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(mine))
    assert again.total_steps == pytest.approx(7.0)
    for step in (0, 2, 5):
        assert float(again(step)) == pytest.approx(float(mine(step)), rel=1e-6)


def test_a_plan_can_start_later_and_run_at_the_peak_for_ever():
    mine = CosineSchedule(0.01, 10)
    mine.plan(10, start_step=100)  # a warm start's new cycle
    assert float(mine(100)) == pytest.approx(0.01) and float(mine(110)) == 0.0
    mine.plan(np.inf, start_step=200)  # partial_fit: the peak rate, without warm-up
    assert float(mine(200)) == float(mine(10**6)) == pytest.approx(0.01)


@pytest.mark.parametrize("kwargs, match", [({"warmup_fraction": 1.0}, "warmup_fraction"),
                                           ({"initial_divisor": 0.5}, "initial_divisor")])
def test_cosine_schedule_refuses_a_shape_it_cannot_have(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CosineSchedule(0.002, 100, **kwargs)


def _recording_learning_rates(rates):
    """A callback that appends the optimizer's rate before each batch to ``rates``.

    A closure, not an attribute: the estimator fits with deep copies of its callbacks.
    """
    keras = import_keras()

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            rates.append(float(np.asarray(self.model.optimizer.learning_rate)))

    return Record()


def test_one_cycle_schedule_of_a_fit(toy):
    # ten steps per epoch (320 samples, batch 32), one step per execution so that the callback
    # sees every step: the rates the optimizer used are the one-cycle rates
    X, y = toy
    rates = []
    clf = DenseClassifier(
        hidden_layer_sizes=(8,), epochs=3, batch_size=32, steps_per_execution=1, learning_rate=0.01,
        lr_schedule="one_cycle", callbacks=[_recording_learning_rates(rates)], random_state=0,
    ).fit(X, y)
    expected = [float(CosineSchedule(0.01, 30, warmup_fraction=0.3)(step)) for step in range(30)]
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert rates[0] == pytest.approx(0.01 / 25) and rates[9] == pytest.approx(0.01)
    assert _lr(clf) == pytest.approx(0.0, abs=1e-9)
    assert clf.predict(X).shape == y.shape


def test_budget_shortens_the_one_cycle(toy, clock):
    # 35 s at 10 s an epoch: 3 of the 10 epochs; the cycle is rescaled to end at zero after them
    X, y = toy
    clf = DenseClassifier(
        hidden_layer_sizes=(8,), epochs=10, batch_size=32, max_fit_time=35, lr_schedule="one_cycle",
        callbacks=[_advancing(clock)], random_state=0,
    ).fit(X, y)
    assert clf.n_epochs_ == 3
    assert int(clf.model_.optimizer.iterations) == 3 * 10
    assert _lr(clf) == pytest.approx(0.0, abs=1e-9)


def test_unknown_schedule_is_refused_with_the_choices(toy):
    X, y = toy
    with pytest.raises(InvalidParameterError, match="lr_schedule.*one_cycle"):
        DenseClassifier(epochs=1, lr_schedule="onecycle").fit(X, y)


def test_budget_shortens_training_and_the_decay(toy, clock):
    # every epoch takes 10 (fake) seconds: 35 s fit 3 of the 10 epochs, and the
    # learning rate must still have decayed to zero at the end of the third
    X, y = toy
    clf = DenseClassifier(
        hidden_layer_sizes=(8,), epochs=10, batch_size=32, max_fit_time=35, callbacks=[_advancing(clock)],
        random_state=0,
    ).fit(X, y)
    assert clf.n_epochs_ == 3
    assert clf.history_["time"] == [10.0, 20.0, 30.0]
    assert int(clf.model_.optimizer.iterations) == 3 * 10  # 320 samples, batch 32
    assert _lr(clf) == pytest.approx(0.0, abs=1e-9)
    # without a budget the same fit runs 10 epochs and stops with the rate at zero too
    full = clone(clf).set_params(max_fit_time=None).fit(X, y)
    assert full.n_epochs_ == 10
    assert _lr(full) == pytest.approx(0.0, abs=1e-9)


def test_budget_exceeded_by_the_first_epoch_stops_after_it(toy, clock):
    X, y = toy
    clf = DenseClassifier(
        hidden_layer_sizes=(8,), epochs=5, max_fit_time=4, callbacks=[_advancing(clock)], random_state=0
    ).fit(X, y)
    assert clf.n_epochs_ == 1


def test_plan_follows_the_slowest_recent_epoch(toy, clock):
    # the first epoch (20 s: it also builds the training function) is left out
    # of the estimate once later epochs exist; at 5 s an epoch, 60 s fit 9
    X, y = toy
    keras = import_keras()

    class SlowFirst(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock.now += 20.0 if epoch == 0 else 5.0

    clf = DenseClassifier(hidden_layer_sizes=(8,), epochs=30, batch_size=32, callbacks=[SlowFirst()],
                          max_fit_time=60, random_state=0)
    clf.fit(X, y)
    assert clf.n_epochs_ == 9  # 20 + 8 x 5 = 60
    assert _lr(clf) == pytest.approx(0.0, abs=1e-9)


def test_generous_budget_changes_nothing(toy):
    # the re-plannable schedule gives Keras' cosine rates bit for bit
    X, y = toy
    for clf in (
        DenseClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=0),
        CNNClassifier(filters=(4,), dense_units=8, epochs=2, random_state=0),
    ):
        plain = clone(clf).fit(X, y)
        budget = clone(clf).set_params(max_fit_time=1e6).fit(X, y)
        assert budget.n_epochs_ == plain.n_epochs_
        np.testing.assert_array_equal(budget.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("lr_schedule", ["cosine", "one_cycle"])
def test_budgeted_fit_pickles_and_saves(toy, tmp_path, lr_schedule):
    X, y = toy
    clf = DenseClassifier(
        hidden_layer_sizes=(8,), epochs=2, max_fit_time=1e6, lr_schedule=lr_schedule, random_state=0
    ).fit(X, y)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected)
    persistence.save(clf, tmp_path / "clf.skfmnist")
    np.testing.assert_array_equal(persistence.load(tmp_path / "clf.skfmnist").predict_proba(X), expected)


@pytest.mark.parametrize("bad", [0, -1.0, "15 min"])
def test_bad_budget_is_refused(toy, bad):
    X, y = toy
    with pytest.raises(InvalidParameterError, match="max_fit_time"):
        DenseClassifier(epochs=1, max_fit_time=bad).fit(X, y)


def test_zero_second_epochs_run_them_all(toy, clock):
    # a coarse clock can read the same time before and after an epoch: no division by zero
    X, y = toy
    clock.epoch_s = 0.0
    clf = DenseClassifier(
        hidden_layer_sizes=(8,), epochs=3, max_fit_time=10, callbacks=[_advancing(clock)], random_state=0
    ).fit(X, y)
    assert clf.n_epochs_ == 3
