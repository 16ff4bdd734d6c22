"""PyTorch: its CPU threads and accelerator; Keras' stock input path and batch normalization."""

# SPDX-License-Identifier: MIT

from . import Accelerator
from ._stock import training_data

__all__ = ["FUSED_BATCH_NORM", "JIT_COMPILE", "MAX_STEPS_PER_EXECUTION", "accelerator", "configure",
           "prepare", "schedule_changed", "start", "training_data"]

FUSED_BATCH_NORM = None

#: ``jit_compile="auto"``: off (torch.compile costs more than it saves on fits of a few minutes).
JIT_COMPILE = False


#: The most training batches per call into the backend (None: no limit).
MAX_STEPS_PER_EXECUTION = 1  # Keras' PyTorch trainer runs one batch per call


def start():
    """Nothing to do when skfmnist imports Keras."""


def schedule_changed(model):
    """Nothing to do: the training step reads the learning-rate schedule's variables at every step."""


def prepare(model):
    """Nothing to do before ``model`` is compiled."""


def configure(intra_op=None, inter_op=None):
    """Set PyTorch's thread counts; False where its inter-op pool had started already."""
    import torch

    if intra_op:
        torch.set_num_threads(int(intra_op))
    try:
        if inter_op:
            torch.set_num_interop_threads(int(inter_op))
    except RuntimeError:  # the pool exists already
        return False
    return True


def accelerator():
    """The GPU PyTorch computes on, or None."""
    import torch

    if not torch.cuda.is_available():
        return None
    major, _ = torch.cuda.get_device_capability(0)  # (is_bf16_supported also counts emulated bfloat16)
    return Accelerator(name=torch.cuda.get_device_name(0), bfloat16=major >= 8)
