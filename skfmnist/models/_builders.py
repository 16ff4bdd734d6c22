"""Pure Keras model builders (no scikit-learn, no scikeras).

Each ``build_*`` function returns an uncompiled :class:`keras.Model` for a
given input shape and number of classes; :func:`compile_classifier` adds the
optimizer, learning-rate schedule and loss.  The estimators in this package
call these from ``fit`` with the shapes the data had.
"""

# SPDX-License-Identifier: MIT

from ..utils._tf import import_keras
from ._layers import FusedBatchNormalization, MaskBitsDropout
from ._optimizers import FusedAdam, FusedAdamW

keras = import_keras()
layers = keras.layers
ops = keras.ops

__all__ = [
    "OneCycleDecay",
    "ReplannableCosineDecay",
    "SparseCategoricalCrossentropy",
    "build_cnn",
    "build_and_compile",
    "build_training_state",
    "build_deep_cnn",
    "build_dense",
    "compile_classifier",
    "count_flops",
]


@keras.saving.register_keras_serializable(package="skfmnist")
class SparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy on integer labels with optional label smoothing.

    Keras' own sparse cross-entropy has no label smoothing; this one turns
    the integer labels into smoothed one-hot vectors inside the graph.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        Mass moved from the true class to all classes uniformly.
    name : str, default="sparse_categorical_crossentropy"
        Name of the loss.
    **kwargs : dict
        Passed to :class:`keras.losses.Loss`.
    """

    def __init__(self, label_smoothing=0.0, name="sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        n_classes = ops.shape(y_pred)[-1]
        y_true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), n_classes)
        return keras.losses.categorical_crossentropy(
            y_true, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        config = super().get_config()
        config["label_smoothing"] = self.label_smoothing
        return config


@keras.saving.register_keras_serializable(package="skfmnist")
class ReplannableCosineDecay(keras.optimizers.schedules.CosineDecay):
    """Keras' cosine decay whose length can change during training.

    The same learning rates as :class:`keras.optimizers.schedules.CosineDecay`
    (warm-up included), but ``warmup_steps`` and ``decay_steps`` are
    non-trainable variables that the compiled training function reads at
    every step, so that a callback
    (:class:`~skfmnist.models._callbacks.TimeBudget`) can shorten or lengthen
    the schedule between epochs through :meth:`set_total_steps` and the rate
    still reaches its end value at the new end.

    Parameters
    ----------
    initial_learning_rate : float
        Learning rate at step 0.
    decay_steps : int
        Initial length of the decay, in optimizer steps.
    alpha : float, default=0.0
        Final rate as a fraction of the peak rate.
    name : str, default="ReplannableCosineDecay"
        Name of the schedule.
    warmup_target : float or None, default=None
        Rate reached at the end of the warm-up, as in Keras' ``CosineDecay``;
        None: no warm-up, the decay starts from ``initial_learning_rate``.
    warmup_steps : int, default=0
        Length of the linear warm-up, in optimizer steps; non-zero only
        with a ``warmup_target`` (Keras' ``CosineDecay`` ignores a warm-up
        without one, which would shorten the decay by the unused steps).
    """

    def __init__(
        self, initial_learning_rate, decay_steps, alpha=0.0, name="ReplannableCosineDecay",
        warmup_target=None, warmup_steps=0,
    ):
        if not warmup_steps >= 0:
            raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps!r}.")
        if warmup_steps and warmup_target is None:
            raise ValueError(
                f"warmup_steps={warmup_steps!r} needs a warmup_target (the rate the warm-up rises to); "
                "without one there is no warm-up."
            )
        super().__init__(initial_learning_rate, decay_steps, alpha=alpha, name=name, warmup_target=warmup_target)
        self.warmup_steps = keras.Variable(float(warmup_steps), dtype="float32", trainable=False, name="warmup_steps")
        self.decay_steps = keras.Variable(float(decay_steps), dtype="float32", trainable=False, name="decay_steps")

    def _warmup_for(self, total_steps):
        """Warm-up steps of a schedule ``total_steps`` long: unchanged here."""
        return float(ops.convert_to_numpy(self.warmup_steps))

    def set_total_steps(self, total_steps):
        """Make the schedule, warm-up included, end after ``total_steps`` optimizer steps.

        The warm-up keeps its length (subclasses may rescale it) and the
        decay takes the rest, at least one step.
        """
        total_steps = max(float(total_steps), 1.0)
        warmup = self._warmup_for(total_steps)
        self.warmup_steps.assign(warmup)
        self.decay_steps.assign(max(total_steps - warmup, 1.0))

    def get_config(self):
        config = super().get_config()
        config["warmup_steps"] = float(ops.convert_to_numpy(self.warmup_steps))
        config["decay_steps"] = float(ops.convert_to_numpy(self.decay_steps))
        return config


@keras.saving.register_keras_serializable(package="skfmnist")
class OneCycleDecay(ReplannableCosineDecay):
    """One-cycle learning rate: linear warm-up to the peak, then cosine decay to zero.

    The rate rises linearly from ``peak_learning_rate / div_factor`` to
    ``peak_learning_rate`` over the first ``pct_start`` of the steps, then
    falls along a half cosine to zero at ``total_steps``: the learning-rate
    half of Smith's one-cycle policy with the defaults of PyTorch's
    ``OneCycleLR`` (``pct_start=0.3``, ``div_factor=25``, cosine annealing;
    the momentum is not cycled).  Built on Keras' ``CosineDecay`` with
    warm-up.  :meth:`set_total_steps` keeps the shape: warm-up and decay are
    both rescaled to the new total, so that a time budget
    (:class:`~skfmnist.models._callbacks.TimeBudget`) still ends the cycle
    at zero.

    Parameters
    ----------
    peak_learning_rate : float
        Highest rate, reached at the end of the warm-up.
    total_steps : int
        Length of the whole cycle, in optimizer steps.
    pct_start : float, default=0.3
        Fraction of the steps spent warming up, in [0, 1).
    div_factor : float, default=25.0
        The rate starts at ``peak_learning_rate / div_factor``.
    name : str, default="OneCycleDecay"
        Name of the schedule.
    """

    def __init__(self, peak_learning_rate, total_steps, pct_start=0.3, div_factor=25.0, name="OneCycleDecay"):
        if not 0.0 <= pct_start < 1.0:
            raise ValueError(f"pct_start must be in [0, 1), got {pct_start!r}.")
        if not div_factor >= 1.0:
            raise ValueError(f"div_factor must be at least 1, got {div_factor!r}.")
        self.peak_learning_rate = peak_learning_rate
        self.pct_start = pct_start
        self.div_factor = div_factor
        total_steps = max(float(total_steps), 1.0)
        warmup = self._warmup_for(total_steps)
        super().__init__(
            peak_learning_rate / div_factor,
            decay_steps=max(total_steps - warmup, 1.0),
            name=name,
            warmup_target=peak_learning_rate,
            warmup_steps=warmup,
        )

    def _warmup_for(self, total_steps):
        """Warm-up steps of a cycle ``total_steps`` long: ``pct_start`` of them."""
        return self.pct_start * total_steps

    def get_config(self):
        warmup = float(ops.convert_to_numpy(self.warmup_steps))
        decay = float(ops.convert_to_numpy(self.decay_steps))
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": warmup + decay,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "name": self.name,
        }


#: Keras dtype policy of the hidden layers for each ``compute_dtype``.
_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def _policy(compute_dtype):
    """Keras dtype policy for ``compute_dtype`` (weights stay float32)."""
    try:
        return _POLICIES[compute_dtype]
    except KeyError:
        raise ValueError(
            f"compute_dtype must be one of {sorted(_POLICIES)}, got {compute_dtype!r}."
        ) from None


def _output_layer(x, n_classes):
    """Softmax output, always computed in float32 (stable, float32 probabilities)."""
    return layers.Dense(n_classes, activation="softmax", name="proba", dtype="float32")(x)


def _augmentation(augment):
    """Training-only augmentation: small shifts and horizontal flips."""
    if not augment:
        return []
    return [
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant", name="augment_shift"),
        layers.RandomFlip("horizontal", name="augment_flip"),
    ]


def _batch_norm(fused, dtype):
    """Batch normalization layer: TensorFlow's fused kernel, or Keras' own layer."""
    layer = FusedBatchNormalization if fused else layers.BatchNormalization
    return layer(momentum=0.9, dtype=dtype)


def _conv_unit(x, n_filters, kernel_size, batch_norm, dtype, fused=True):
    """Convolution + ReLU, with batch normalization in between if asked."""
    if not batch_norm:
        return layers.Conv2D(n_filters, kernel_size, padding="same", activation="relu", dtype=dtype)(x)
    x = layers.Conv2D(n_filters, kernel_size, padding="same", use_bias=False, dtype=dtype)(x)
    x = _batch_norm(fused, dtype)(x)
    return layers.Activation("relu", dtype=dtype)(x)


def _dense_unit(x, units, batch_norm, dtype, fused=True):
    """Dense + ReLU, with batch normalization in between if asked."""
    if not batch_norm:
        return layers.Dense(units, activation="relu", dtype=dtype)(x)
    x = layers.Dense(units, use_bias=False, dtype=dtype)(x)
    x = _batch_norm(fused, dtype)(x)
    return layers.Activation("relu", dtype=dtype)(x)


def build_dense(
    input_shape,
    n_classes,
    *,
    hidden_layer_sizes=(256, 128),
    activation="relu",
    dropout=0.2,
    compute_dtype="float32",
    mask_bits_dropout=True,
):
    """Fully connected network: flatten, hidden layers with dropout, softmax.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample.
    n_classes : int
        Number of output classes.
    hidden_layer_sizes : tuple of int, default=(256, 128)
        Units of each hidden layer.
    activation : str, default="relu"
        Activation of the hidden layers.
    dropout : float, default=0.2
        Dropout rate after each hidden layer.
    compute_dtype : {"float32", "bfloat16"}, default="float32"
        Dtype of the hidden layers' computations; "bfloat16" is Keras' mixed
        precision (bfloat16 arithmetic, float32 weights).  The softmax
        output is always float32.
    mask_bits_dropout : bool, default=True
        Dropout as :class:`~skfmnist.models._layers.MaskBitsDropout` (the
        same drop probability, decided from 8 random bits per unit where the
        rate is a multiple of 1/256, from 16 or 32 otherwise, instead of a
        random float: cheaper, another random stream); False gives Keras'
        own layer.

    Returns
    -------
    model : keras.Model
        Uncompiled model.
    """
    dtype = _policy(compute_dtype)
    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    x = layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    dropout_layer = MaskBitsDropout if mask_bits_dropout else layers.Dropout
    for units in hidden_layer_sizes:
        x = layers.Dense(units, activation=activation, dtype=dtype)(x)
        if dropout:
            x = dropout_layer(dropout, dtype=dtype)(x)
    outputs = _output_layer(x, n_classes)
    return keras.Model(inputs, outputs, name="dense")


def build_cnn(
    input_shape,
    n_classes,
    *,
    filters=(32, 64),
    kernel_size=3,
    dense_units=128,
    dropout=0.3,
    batch_norm=False,
    augment=False,
    compute_dtype="float32",
    fused_batch_norm=True,
):
    """Small CNN: one convolution and max-pooling per entry of ``filters``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(height, width, channels)``.
    n_classes : int
        Number of output classes.
    filters : tuple of int, default=(32, 64)
        Filters of each convolution.
    kernel_size : int, default=3
        Side of the square convolution kernels.
    dense_units : int, default=128
        Units of the dense layer before the output (0: none).
    dropout : float, default=0.3
        Dropout rate before the output layer.
    batch_norm : bool, default=False
        Batch normalization between each convolution (and the dense layer)
        and its ReLU.
    augment : bool, default=False
        Random shifts and horizontal flips, active in training only.
    compute_dtype : {"float32", "bfloat16"}, default="float32"
        Dtype of the hidden layers' computations; "bfloat16" is Keras' mixed
        precision (bfloat16 arithmetic, float32 weights).  The softmax
        output is always float32.
    fused_batch_norm : bool, default=True
        Batch normalization as :class:`~skfmnist.models._layers.FusedBatchNormalization`
        (TensorFlow's fused kernel, same results as Keras' layer); False gives
        Keras' own layer (the plain-Keras side of the speed benchmark).

    Returns
    -------
    model : keras.Model
        Uncompiled model.
    """
    dtype = _policy(compute_dtype)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = inputs
    for layer in _augmentation(augment):
        x = layer(x)
    for n_filters in filters:
        x = _conv_unit(x, n_filters, kernel_size, batch_norm, dtype, fused_batch_norm)
        x = layers.MaxPooling2D(2, padding="same", dtype=dtype)(x)
    x = layers.Flatten(dtype=dtype)(x)
    if dense_units:
        x = _dense_unit(x, dense_units, batch_norm, dtype, fused_batch_norm)
    if dropout:
        x = layers.Dropout(dropout, dtype=dtype)(x)
    outputs = _output_layer(x, n_classes)
    return keras.Model(inputs, outputs, name="cnn")


def build_deep_cnn(
    input_shape,
    n_classes,
    *,
    filters=(32, 64),
    convs_per_block=2,
    kernel_size=3,
    dense_units=256,
    conv_dropout=0.25,
    dropout=0.4,
    augment=False,
    compute_dtype="float32",
    fused_batch_norm=True,
    mask_bits_dropout=True,
):
    """Deeper CNN: blocks of (convolution, batch norm, ReLU) x k, pooling, dropout.

    Parameters
    ----------
    input_shape : tuple of int
        ``(height, width, channels)``.
    n_classes : int
        Number of output classes.
    filters : tuple of int, default=(32, 64)
        Filters of the convolutions of each block.
    convs_per_block : int, default=2
        Convolutions per block.
    kernel_size : int, default=3
        Side of the square convolution kernels.
    dense_units : int, default=256
        Units of the dense layer (with batch norm) before the output.
    conv_dropout : float, default=0.25
        Dropout rate at the end of each block.
    dropout : float, default=0.4
        Dropout rate before the output layer.
    augment : bool, default=False
        Random shifts and horizontal flips, active in training only.
    compute_dtype : {"float32", "bfloat16"}, default="float32"
        Dtype of the hidden layers' computations; "bfloat16" is Keras' mixed
        precision (bfloat16 arithmetic, float32 weights).  The softmax
        output is always float32.
    fused_batch_norm : bool, default=True
        Batch normalization as :class:`~skfmnist.models._layers.FusedBatchNormalization`
        (TensorFlow's fused kernel, same results as Keras' layer); False gives
        Keras' own layer (the plain-Keras side of the speed benchmark).
    mask_bits_dropout : bool, default=True
        Dropout as :class:`~skfmnist.models._layers.MaskBitsDropout` (the
        same drop probability, decided from 8 random bits per unit at rate
        0.25 and from 32 at 0.4 instead of a random float: cheaper, another
        random stream); False gives Keras' own layer.

    Returns
    -------
    model : keras.Model
        Uncompiled model.
    """
    dtype = _policy(compute_dtype)
    dropout_layer = MaskBitsDropout if mask_bits_dropout else layers.Dropout
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = inputs
    for layer in _augmentation(augment):
        x = layer(x)
    for n_filters in filters:
        for _ in range(convs_per_block):
            x = _conv_unit(x, n_filters, kernel_size, batch_norm=True, dtype=dtype, fused=fused_batch_norm)
        x = layers.MaxPooling2D(2, padding="same", dtype=dtype)(x)
        if conv_dropout:
            x = dropout_layer(conv_dropout, dtype=dtype)(x)
    x = layers.Flatten(dtype=dtype)(x)
    if dense_units:
        x = _dense_unit(x, dense_units, batch_norm=True, dtype=dtype, fused=fused_batch_norm)
    if dropout:
        x = dropout_layer(dropout, dtype=dtype)(x)
    outputs = _output_layer(x, n_classes)
    return keras.Model(inputs, outputs, name="deep_cnn")


_OPTIMIZERS = {
    "adam": FusedAdam,
    "adamw": FusedAdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
}
_KERAS_ADAM = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW}


def compile_classifier(
    model,
    *,
    optimizer="adam",
    learning_rate=1e-3,
    weight_decay=0.0,
    lr_schedule="constant",
    total_steps=None,
    label_smoothing=0.0,
    jit_compile=False,
    steps_per_execution=1,
    replannable_schedule=False,
    fused=True,
):
    """Compile a classifier with an optimizer, schedule and smoothed loss.

    Parameters
    ----------
    model : keras.Model
        The network.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"}, default="adam"
        Optimizer (SGD with Nesterov momentum 0.9; Adam and AdamW as
        :class:`~skfmnist.models._optimizers.FusedAdam` and ``FusedAdamW``:
        Keras' optimizers with TensorFlow's fused update kernel).
    learning_rate : float, default=1e-3
        Initial (peak) learning rate.
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW, SGD) or none.
    lr_schedule : {"constant", "cosine", "one_cycle"}, default="constant"
        Learning-rate schedule; "cosine" decays to 0 over ``total_steps``,
        "one_cycle" (:class:`OneCycleDecay`) warms up linearly from
        ``learning_rate / 25`` over the first 30% of them, then decays to 0.
    total_steps : int, default=None
        Number of optimizer steps of the whole training (for "cosine" and
        "one_cycle").
    label_smoothing : float, default=0.0
        Label smoothing of the cross-entropy.
    jit_compile : bool, default=False
        Compile the training step with XLA.
    steps_per_execution : int, default=1
        Batches per call of the compiled training function.
    replannable_schedule : bool, default=False
        Use :class:`ReplannableCosineDecay` for "cosine", so that a callback
        can change the schedule's length during training ("one_cycle" can
        always change it).
    fused : bool, default=True
        Adam and AdamW with TensorFlow's fused update kernel; False gives
        Keras' own classes (the plain-Keras side of the speed benchmark).

    Returns
    -------
    model : keras.Model
        The same model, compiled.
    """
    lr = learning_rate
    if lr_schedule == "cosine":
        schedule = ReplannableCosineDecay if replannable_schedule else keras.optimizers.schedules.CosineDecay
        lr = schedule(learning_rate, decay_steps=max(int(total_steps or 1), 1))
    elif lr_schedule == "one_cycle":
        lr = OneCycleDecay(learning_rate, max(int(total_steps or 1), 1))
    kwargs = {"learning_rate": lr}
    if optimizer == "sgd":
        kwargs.update(momentum=0.9, nesterov=True)
    if weight_decay and optimizer in ("adamw", "sgd"):
        kwargs["weight_decay"] = weight_decay
    if label_smoothing:
        loss = SparseCategoricalCrossentropy(label_smoothing=label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    classes = _OPTIMIZERS if fused else {**_OPTIMIZERS, **_KERAS_ADAM}
    model.compile(
        optimizer=classes[optimizer](**kwargs),
        loss=loss,
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model


def build_and_compile(builder, input_shape, n_classes, network_params, compile_params):
    """Build a network with ``builder`` and compile it (picklable via partial).

    Parameters
    ----------
    builder : callable
        One of the ``build_*`` functions.
    input_shape : tuple of int
        Shape of one sample.
    n_classes : int
        Number of classes.
    network_params : dict
        Keyword arguments of ``builder``.
    compile_params : dict
        Keyword arguments of :func:`compile_classifier`.

    Returns
    -------
    model : keras.Model
        Compiled model.
    """
    model = compile_classifier(builder(input_shape, n_classes, **network_params), **compile_params)
    build_training_state(model)
    return model


def build_training_state(model):
    """Create the optimizer's, the loss' and the metrics' variables before training.

    Without a distribution strategy Keras creates them while it traces the
    training step, and TensorFlow then traces that step a second time, as a
    function that may not create variables: each fit paid for two traces of
    the whole step (forward, gradients, optimizer update).  Creating the
    variables first, as Keras itself does under a distribution strategy (its
    ``_symbolic_build``), leaves one trace.  The variables and their initial
    values are the same, so the training is too.

    Parameters
    ----------
    model : keras.Model
        A built, compiled model with one input and one output.

    Returns
    -------
    model : keras.Model
        The same model.
    """
    symbolic_build = getattr(model, "_symbolic_build", None)
    if symbolic_build is not None:
        images = keras.KerasTensor((None, *model.input_shape[1:]), "float32")
        labels = keras.KerasTensor((None,), "int32")
        symbolic_build(data_batch=(images, labels, None))
    elif model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # a later Keras: the optimizer at least
    return model


def count_flops(model):
    """Multiply-accumulate based FLOPs of one forward pass of one image.

    Counts the dense and convolution layers (2 FLOPs per multiply-add),
    which dominate these networks.

    Parameters
    ----------
    model : keras.Model
        A built model.

    Returns
    -------
    flops : int
        Forward FLOPs per sample.
    """
    flops = 0
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, oh, ow, _ = layer.output.shape
            flops += 2 * kh * kw * cin * cout * oh * ow
    return int(flops)
