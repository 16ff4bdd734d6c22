"""What differs between Keras' backends, in one module per backend.

skfmnist runs on whichever backend Keras runs (``KERAS_BACKEND``:
TensorFlow, the default, JAX or PyTorch).  Everything else in the package is
stock Keras; what one backend does differently lives in its module here and
is chosen by :func:`current` from ``keras.backend.backend()``:

- :mod:`._tensorflow`: TensorFlow's thread pools, its ``tf.data`` input
  pipeline and its fused batch-normalization kernel (each kept because a
  benchmark shows it pays on TensorFlow, ``benchmarks/RESULTS.md``);
- :mod:`._jax` and :mod:`._torch`: their accelerators, (JAX) its
  compilation cache and (PyTorch) thread counts, with Keras' stock input
  path (:mod:`._stock`).

Every backend module has the same functions: ``start()`` (once, when
skfmnist imports Keras), ``configure(intra_op, inter_op)`` (CPU threads),
``accelerator()`` (the GPU it trains on, or None), ``training_data(arrays,
batch_size, order)`` (the input of ``Model.fit``), ``prepare(model)``
(before it is compiled) and ``schedule_changed(model)`` (after a
learning-rate schedule is re-planned), and the constants ``JIT_COMPILE``
(what ``jit_compile="auto"`` means there), ``MAX_STEPS_PER_EXECUTION``
(None: no limit) and ``FUSED_BATCH_NORM`` (a function, or None where Keras'
own layer runs).
"""

# SPDX-License-Identifier: MIT

import importlib
from dataclasses import dataclass

__all__ = ["Accelerator", "BACKENDS", "adapt", "current", "name"]

#: The Keras backends skfmnist runs on, and the module of each.
BACKENDS = {"tensorflow": "_tensorflow", "jax": "_jax", "torch": "_torch"}


@dataclass(frozen=True)
class Accelerator:
    """The GPU (or other accelerator) a backend trains on.

    Attributes
    ----------
    name : str
        The device's name, as its backend reports it.
    bfloat16 : bool
        Whether it has fast bfloat16 arithmetic (NVIDIA: compute capability
        8.0 or newer); without, mixed precision means float16.
    """

    name: str
    bfloat16: bool


def name():
    """The name of the backend Keras runs on ("tensorflow", "jax" or "torch")."""
    import keras

    return keras.backend.backend()


def current():
    """The module of :data:`BACKENDS` for Keras' backend.

    Raises
    ------
    RuntimeError
        On a backend skfmnist does not run on (such as "numpy", which cannot train).
    """
    backend = name()
    if backend not in BACKENDS:
        raise RuntimeError(
            f"Keras runs on the {backend!r} backend; skfmnist trains on {', '.join(map(repr, BACKENDS))} "
            "(set KERAS_BACKEND before Python starts)."
        )
    return importlib.import_module(f".{BACKENDS[backend]}", __name__)


def adapt(model, jit_compile=None):
    """Make a compiled ``model`` (built here, loaded from a file or unpickled) run on Keras' current backend.

    PyTorch runs one batch per call (``steps_per_execution=1``), whatever the
    model was compiled with elsewhere.  ``jit_compile`` (a bool), given for a
    model loaded or unpickled, compiles it as the estimator compiled it
    (after :func:`prepare`: Keras turns XLA off while loading a model whose
    random image layers say they do not support it).
    """
    backend = current()
    if jit_compile is not None and model.compiled:
        backend.prepare(model)
        model.jit_compile = jit_compile
    limit = backend.MAX_STEPS_PER_EXECUTION
    if limit is not None and model.compiled and model.steps_per_execution > limit:
        model.steps_per_execution = limit
    return model
