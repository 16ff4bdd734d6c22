"""Every environment variable skfmnist reads or sets, in one place.

Set by skfmnist, once, just before it imports Keras (and only where the
environment does not already set them; a value you set always wins):

``KERAS_BACKEND=tensorflow``
    Keras' backend where none is chosen (the fastest on CPUs).  Set
    ``KERAS_BACKEND=jax`` or ``KERAS_BACKEND=torch`` before Python starts
    to train on JAX or PyTorch (:mod:`skfmnist._backends`).
``TF_CPP_MIN_LOG_LEVEL=2``
    TensorFlow's C++ warnings and notes are not shown (errors are).
``TF_ENABLE_ONEDNN_OPTS=1`` (x86 CPUs only)
    oneDNN's CPU kernels, which choose their instructions at run time
    (AVX2, AVX-512, AMX), instead of Eigen's, which TensorFlow's wheels
    compile without AVX2.  TensorFlow turns them on by itself only on CPUs
    with AVX512-VNNI, AVX512-BF16, AVX-VNNI or AMX; elsewhere convolutions
    then train markedly slower (on an AMD EPYC without AVX-512, slower than
    the same network in PyTorch).  Set it to 0 to
    keep Eigen's kernels.  TensorFlow reads it when it is imported, so it has
    no effect if TensorFlow was imported before skfmnist.

Read by skfmnist:

``SKFMNIST_DATA``
    Folder holding the Fashion-MNIST files (:func:`skfmnist.fetch_fashion_mnist`).
``SKFMNIST_TF_THREADS``, ``SKFMNIST_TF_INTER_THREADS``
    The backend's intra-op and inter-op CPU thread counts (TensorFlow's and
    PyTorch's; JAX reads ``XLA_FLAGS`` instead); otherwise
    ``OMP_NUM_THREADS``, which joblib's process workers receive as their share
    of the cores (TensorFlow itself ignores it).  Not applied where the
    backend trains on a GPU.
``ONEDNN_MAX_CPU_ISA``
    oneDNN's cap on the instruction sets it may use; ``compute_dtype="auto"``
    reads it to tell whether bfloat16 keeps its fast path.
``SKFMNIST_JAX_CACHE``
    On the JAX backend, the folder of JAX's compilation cache
    (:func:`jax_cache_dir`; default ``~/.cache/skfmnist/jax``, or under
    ``XDG_CACHE_HOME``); ``0`` turns it off.  Not used where JAX has a cache
    folder of its own (``JAX_COMPILATION_CACHE_DIR``).
"""

# SPDX-License-Identifier: MIT

import os
import platform

__all__ = ["DATA_ENV", "INTER_THREADS_ENV", "JAX_CACHE_ENV", "ONEDNN_ENV", "ONEDNN_ISA_ENV", "THREADS_ENV",
           "env_defaults", "jax_cache_dir", "set_env_defaults", "threads_from_env"]

DATA_ENV = "SKFMNIST_DATA"
THREADS_ENV = "SKFMNIST_TF_THREADS"
INTER_THREADS_ENV = "SKFMNIST_TF_INTER_THREADS"
ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
ONEDNN_ISA_ENV = "ONEDNN_MAX_CPU_ISA"
JAX_CACHE_ENV = "SKFMNIST_JAX_CACHE"

#: ``platform.machine()`` of the CPUs whose TensorFlow wheels hold oneDNN's x86 kernels.
X86 = frozenset({"x86_64", "amd64", "i386", "i686"})


def env_defaults(machine=None):
    """The variables skfmnist sets before importing TensorFlow, where unset.

    Parameters
    ----------
    machine : str, default=None
        ``platform.machine()`` of the CPU; None reads this one.  oneDNN's
        kernels are asked for on x86 only (on Arm, TensorFlow's oneDNN build
        runs other kernels, which skfmnist has not measured).

    Returns
    -------
    defaults : dict of str to str
    """
    machine = (platform.machine() if machine is None else machine).lower()
    defaults = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if machine in X86:
        defaults[ONEDNN_ENV] = "1"
    return defaults


def set_env_defaults(environ=None, machine=None):
    """Set :func:`env_defaults` in ``environ`` where it has no value; return what was set.

    Parameters
    ----------
    environ : mapping, default=None
        The environment to change; None is ``os.environ``.
    machine : str, default=None
        As in :func:`env_defaults`.

    Returns
    -------
    set_here : dict of str to str
        The variables this call set (the others were set already).
    """
    environ = os.environ if environ is None else environ
    set_here = {name: value for name, value in env_defaults(machine).items() if name not in environ}
    environ.update(set_here)
    return set_here


def threads_from_env(environ=None):
    """TensorFlow's ``(intra_op, inter_op)`` thread counts asked for by the environment.

    ``SKFMNIST_TF_THREADS`` / ``SKFMNIST_TF_INTER_THREADS`` first, otherwise
    ``OMP_NUM_THREADS`` for both; None leaves TensorFlow's default (all cores).

    Parameters
    ----------
    environ : mapping, default=None
        None reads ``os.environ``.

    Returns
    -------
    threads : tuple of (int or None, int or None)
    """
    environ = os.environ if environ is None else environ

    def read(name):
        value = environ.get(name, "").strip()
        return int(value) if value.isdigit() and int(value) > 0 else None

    intra = read(THREADS_ENV) or read("OMP_NUM_THREADS")
    return intra, read(INTER_THREADS_ENV) or intra


def jax_cache_dir(environ=None, flags=None):
    """The folder of JAX's compilation cache that the environment asks for, or None for no cache.

    ``SKFMNIST_JAX_CACHE`` where set (``0``, ``off``, ``false`` or ``no``: None;
    a leading ``~`` is the home folder), otherwise ``skfmnist/jax`` in the
    user's cache folder (``XDG_CACHE_HOME``, or ``~/.cache``).  Either way, one
    subfolder per set of CPU flags: XLA compiles its CPU programs for the host's
    instructions, so a home folder that several kinds of machines share keeps
    one cache per kind instead of entries that the others cannot run.

    Parameters
    ----------
    environ : mapping, default=None
        None reads ``os.environ``.
    flags : iterable of str, default=None
        The CPU's flags; None reads this CPU's (:func:`skfmnist.utils._cpu.cpu_flags`).

    Returns
    -------
    folder : str or None
    """
    import hashlib

    from ._cpu import cpu_flags

    environ = os.environ if environ is None else environ
    value = environ.get(JAX_CACHE_ENV, "").strip()
    if value.lower() in ("0", "off", "false", "no"):
        return None
    if not value:
        cache_home = environ.get("XDG_CACHE_HOME", "").strip() or os.path.join("~", ".cache")
        value = os.path.join(cache_home, "skfmnist", "jax")
    value = os.path.expanduser(value)  # "~/..." as in SKFMNIST_DATA: the variable is often set without a shell
    flags = cpu_flags() if flags is None else flags
    machine = hashlib.sha256(" ".join(sorted(flags)).encode()).hexdigest()[:12]
    return os.path.join(value, f"cpu-{machine}")
