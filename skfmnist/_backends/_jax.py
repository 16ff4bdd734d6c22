"""JAX: its accelerator; Keras' stock input path and batch normalization."""

# SPDX-License-Identifier: MIT

from . import Accelerator
from ._stock import training_data

__all__ = ["FUSED_BATCH_NORM", "JIT_COMPILE", "MAX_STEPS_PER_EXECUTION", "accelerator", "configure",
           "prepare", "schedule_changed", "training_data"]

FUSED_BATCH_NORM = None

#: ``jit_compile="auto"``: XLA, JAX's compiled path (uncompiled, JAX runs each operation on its own).
JIT_COMPILE = True


#: The most training batches per call into the backend (None: no limit).
MAX_STEPS_PER_EXECUTION = None


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
