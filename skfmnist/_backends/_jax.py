"""JAX: its accelerator and compilation cache; Keras' stock input path and batch normalization.

XLA compiles every new network's training and prediction steps, which on a
CPU takes longer than training a small network on a few thousand images: a
search that fits the same network again for each candidate and fold spent
most of its time compiling (the CLI's comparison on the digits, 307
compilations: 81 s of 120 s).  :func:`start` turns on JAX's own disk cache
of compiled programs, so that a program compiled once (by this process, an
earlier one or another worker) is read back instead of compiled again.
"""

# SPDX-License-Identifier: MIT

from . import Accelerator
from ._stock import training_data

__all__ = ["FUSED_BATCH_NORM", "JIT_COMPILE", "MAX_STEPS_PER_EXECUTION", "accelerator", "configure",
           "prepare", "schedule_changed", "start", "training_data"]

FUSED_BATCH_NORM = None

#: The most disk JAX's compilation cache takes in skfmnist's folder (JAX removes the least recently used
#: programs beyond it); a network's programs take tens of kilobytes to a few megabytes.
CACHE_MAX_BYTES = 2**30

#: ``jit_compile="auto"``: XLA, JAX's compiled path (uncompiled, JAX runs each operation on its own).
JIT_COMPILE = True


#: The most training batches per call into the backend (None: no limit).
MAX_STEPS_PER_EXECUTION = None


def start():
    """Once, when skfmnist imports Keras: JAX's compilation cache in skfmnist's folder, unless JAX has its own.

    The folder is :func:`skfmnist.utils._env.jax_cache_dir` (``SKFMNIST_JAX_CACHE``;
    ``0`` turns the cache off), readable by its owner only: JAX runs what it
    finds there.  Every compiled program is kept, however short its
    compilation (JAX's own threshold, a second, would keep none of these
    networks'), up to :data:`CACHE_MAX_BYTES`.  A cache folder set for JAX
    itself (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``), and its
    settings, are left as they are.  Returns the folder, or None where
    skfmnist set none.

    Warns
    -----
    PerformanceWarning
        Where the folder cannot be created (training goes on without the cache).
    """
    import importlib.util
    import os

    import jax

    from ..utils import _env

    folder = _env.jax_cache_dir()
    if folder is None or jax.config.jax_compilation_cache_dir is not None:
        return None
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError as error:  # a read-only home folder: train without the cache
        import warnings

        from ..exceptions import PerformanceWarning

        warnings.warn(
            f"JAX's compilation cache is off: skfmnist cannot create its folder {folder!r} ({error}). Set "
            f"{_env.JAX_CACHE_ENV} to a folder you can write to, or to 0 to turn the cache off without this "
            "warning.",
            PerformanceWarning,
            stacklevel=5,  # as import_keras' own warning: past skfmnist's import of Keras
        )
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    if importlib.util.find_spec("filelock") is not None:  # JAX needs it to bound the folder's size
        jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)
    return folder


def schedule_changed(model):
    """Trace ``model``'s training step again: JAX traced the learning-rate schedule's variables as constants."""
    model.make_train_function(force=True)


def prepare(model):
    """Let XLA compile Keras' random image layers in ``model`` (before it is compiled).

    Keras marks them ``supports_jit=False`` for their ``tf.data`` path, which
    makes the whole training step of a model holding one run uncompiled; in
    a JAX model they are JAX operations that XLA compiles (the deep CNN's
    first epoch on 2,000 images took 10.7 s compiled, 20.1 s without).
    """
    import keras

    augmentations = (keras.layers.RandomTranslation, keras.layers.RandomFlip, keras.layers.RandomRotation,
                     keras.layers.RandomZoom, keras.layers.RandomContrast, keras.layers.RandomBrightness)
    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        if isinstance(layer, augmentations):
            layer.supports_jit = True
        stack.extend(getattr(layer, "layers", []))


def configure(intra_op=None, inter_op=None):
    """JAX takes its CPU threads from ``XLA_FLAGS`` when it starts: nothing to set here (returns False)."""
    return False


def accelerator():
    """The first GPU JAX computes on, or None."""
    import jax

    devices = [d for d in jax.devices() if d.platform in ("gpu", "cuda", "rocm")]
    if not devices:
        return None
    device = devices[0]
    capability = getattr(device, "compute_capability", "0")
    major = int(str(capability).split(".")[0] or 0)
    return Accelerator(name=getattr(device, "device_kind", str(device)), bfloat16=major >= 8)
