"""The parameters and attributes every classifier shares, documented once.

:func:`fill_doc` puts them into a class docstring, quoting the defaults from
the class' own ``__init__`` signature, so that a preset's docstring cannot
drift from its code.
"""

# SPDX-License-Identifier: MIT

import inspect

__all__ = ["fill_doc"]

_COMMON_PARAMETERS = """\
    optimizer : str or keras.optimizers.Optimizer class, default="adam"
        The optimizer: the name of a Keras optimizer ("adam", "rmsprop",
        "adamw", ...; "sgd" is SGD with Nesterov momentum 0.9) or an
        optimizer class, with Keras' defaults for its options
        (:class:`~skfmnist.KerasClassifier` also takes them as
        ``optimizer__<name>=value``).  Adam is the default: it needs the
        least tuning.
    learning_rate : float, default=%(learning_rate)r
        Initial (with "cosine") or peak (with "one_cycle") learning rate.
    weight_decay : float, default=0.0
        Decoupled weight decay (with "adam": AdamW); off by default, as in
        Keras.
    lr_schedule : {"constant", "cosine", "one_cycle"}, default=%(lr_schedule)r
        Learning-rate schedule over the steps of a fit: "cosine" decays from
        ``learning_rate`` to zero; "one_cycle" first rises linearly from
        ``learning_rate / 25`` over 30%% of the steps, then decays the same
        way (PyTorch's ``OneCycleLR``, cosine annealing).  With
        ``warm_start`` each fit runs a new cycle over its epochs;
        ``partial_fit`` always trains at ``learning_rate``.
    label_smoothing : float, default=%(label_smoothing)r
        Probability mass moved from the true class to all classes, in [0, 1).
    batch_size : int, default=%(batch_size)r
        Training mini-batch size.  On fewer than ``10 * batch_size``
        samples the batches hold a tenth of the samples (at least one), so
        that an epoch is at least ten optimizer steps.

        .. versionchanged:: 0.2.0
           Batches shrink on small data.
    epochs : int, default=%(epochs)r
        Passes over the training data per ``fit``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's
        classifiers: ``{label: weight}``, or "balanced" for weights
        inversely proportional to the class frequencies.  Multiplied with
        ``sample_weight``.
    warm_start : bool, default=False
        ``fit`` trains the fitted network further (its weights and optimizer
        state) instead of a new one; the classes and input shape must match.
    max_fit_time : float, default=None
        Training-time budget of a fit in seconds (None: none).  After each
        epoch the fit plans, from the slowest of the last three epochs, how
        many epochs fit into the rest of the budget (at most ``epochs``),
        and shortens the "cosine" or "one_cycle" schedule to end with them.
        At least one epoch runs; building the network is not counted.  The
        number of epochs then depends on the machine's speed
        (``n_epochs_`` tells), so ``random_state`` alone no longer makes a
        fit reproducible.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs and end with the weights of the best
        epoch (``best_epoch_``).  The validation data is ``X_val`` given to
        ``fit``, or else a stratified, seeded ``validation_fraction`` of the
        training data.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for ``early_stopping`` when
        no ``X_val`` is given.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    callbacks : list of keras.callbacks.Callback, default=None
        Extra Keras callbacks.  Each fit trains with fresh copies, so that
        no state leaks between fits or cross-validation folds.
    jit_compile : bool or "auto", default="auto"
        Compile the training step with XLA (Keras' ``jit_compile``).  "auto"
        is each backend's fast path: on on JAX (its compiled path), off on
        TensorFlow (on CPUs its own kernels were faster for these networks)
        and PyTorch (``torch.compile`` costs more than it saves on fits this
        short).
    compute_dtype : {"float32", "bfloat16", "float16", "auto"}, default=%(compute_dtype)r
        Arithmetic of the hidden layers.  "bfloat16" and "float16" are
        Keras' mixed precision (computations in that type, float32 weights,
        optimizer and probabilities; float16 with loss scaling).  "auto"
        picks per device: on a GPU "bfloat16" where it has fast bfloat16
        (NVIDIA compute capability 8.0 or newer), "float16" where it has
        not; on a CPU "bfloat16" where it trains faster
        (:func:`skfmnist.utils.prefers_bfloat16`: a CPU with AMX, or an AMD
        CPU with AVX512-BF16) and "float32" elsewhere.  ``compute_dtype_``
        tells which, and results then depend on the machine.
    steps_per_execution : int, default=32
        Training batches per call into the backend: fewer Python round trips
        between small batches, the same results.  Keras callbacks then see
        ``on_train_batch_*`` once per call.  PyTorch runs 1, the only value
        Keras' PyTorch trainer takes.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the order of the rows, dropout,
        augmentation and the validation split.  An int gives the same
        results on the same machine, backend and number of threads
        (another thread count can round a kernel's sums differently); the
        fit puts Python's and NumPy's random states back afterwards.
    verbose : int, default=0
        Keras' training output (0 silent, 1 progress bar, 2 one line per
        epoch); prediction is always silent."""

_COMMON_ATTRIBUTES = """\
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Values per sample seen in ``fit`` (784 for 28 x 28 images, as rows
        or as images).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit`` (DataFrames with string column
        names only).
    input_shape_ : tuple of int
        Shape of one sample as the network takes it.
    compute_dtype_ : {"float32", "bfloat16", "float16"}
        Arithmetic the network trained in (``compute_dtype`` resolved).
    model_ : keras.Model
        The trained network.
    history_ : dict of list of float
        Per-epoch ``loss`` and ``accuracy`` (and ``val_loss``,
        ``val_accuracy`` with validation data), and ``time``, the cumulative
        training seconds, over all fits of a warm start.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch (1-based) whose weights the network has.
    n_trainable_params_ : int
        Number of trainable weights of the network."""

_QUOTED = ("learning_rate", "lr_schedule", "label_smoothing", "batch_size", "epochs", "compute_dtype")


def fill_doc(cls):
    """Put the shared parameter and attribute docs into ``cls``' docstring, with its defaults."""
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items() if name in _QUOTED}
    cls.__doc__ = cls.__doc__.replace("%(common_parameters)s", _COMMON_PARAMETERS % defaults).replace(
        "%(common_attributes)s", _COMMON_ATTRIBUTES
    )
    return cls
