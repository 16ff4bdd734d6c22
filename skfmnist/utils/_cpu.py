"""What the CPU offers: its name, its flags, and whether bfloat16 training pays on it.

Read from Linux' ``/proc/cpuinfo``; elsewhere the answers are the cautious
ones (no flags, float32).
"""

# SPDX-License-Identifier: MIT

import os
import platform

from ._env import ONEDNN_ENV, ONEDNN_ISA_ENV

__all__ = ["cpu_flags", "cpu_model", "cpu_vendor", "prefers_bfloat16", "tensorflow_default_onednn"]

CPUINFO = "/proc/cpuinfo"

#: CPU flags for which TensorFlow turns oneDNN's kernels on by itself on Linux
#: (``DefaultOneDnnPolicy`` in tensorflow/core/util/port.cc).
TF_ONEDNN_FLAGS = frozenset({"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"})

#: ``ONEDNN_MAX_CPU_ISA`` values that leave oneDNN its AMX kernels ("" is unset: no cap).
_AMX_CAPS = frozenset({"", "DEFAULT", "ALL", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX",
                       "AVX10_1_512_AMX_FP16", "AVX10_2_512_AMX_2"})
#: ... and those that leave it its AVX512-BF16 kernels (every AMX cap, and these).
_BF16_CAPS = _AMX_CAPS | {"AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10_1_512", "AVX10_2_512"}


def _first_cpu(cpuinfo=CPUINFO):
    """``{key: value}`` of the first CPU's block of ``cpuinfo``; empty where it cannot be read."""
    fields = {}
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if not sep:
                    if fields:
                        break  # the blank line that ends the first CPU's block
                    continue
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_flags(cpuinfo=CPUINFO):
    """The first CPU's flags (x86 "flags", Arm "Features"); empty where unknown."""
    fields = _first_cpu(cpuinfo)
    return frozenset(fields.get("flags", fields.get("Features", "")).split())


def cpu_vendor(cpuinfo=CPUINFO):
    """The first CPU's vendor id ("GenuineIntel", "AuthenticAMD"), or ""."""
    return _first_cpu(cpuinfo).get("vendor_id", "")


def cpu_model(cpuinfo=CPUINFO):
    """The CPU's model name, with its family and model numbers where listed.

    Virtual machines often show a bare name ("AMD EPYC") for CPUs of
    different generations, which the numbers tell apart.
    """
    fields = _first_cpu(cpuinfo)
    name = fields.get("model name")
    if not name:
        return platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        return f"{name} (family {fields['cpu family']}, model {fields['model']})"
    return name


def tensorflow_default_onednn(cpuinfo=CPUINFO):
    """Whether TensorFlow, left to its own default, runs oneDNN's kernels on this CPU."""
    return bool(cpu_flags(cpuinfo) & TF_ONEDNN_FLAGS)


def prefers_bfloat16(cpuinfo=CPUINFO, environ=None, gpus=()):
    """Whether ``compute_dtype="auto"`` trains in bfloat16 here.

    Yes on a CPU with AMX-BF16 (Intel's bfloat16 fast path) or an AMD CPU
    with AVX512-BF16, when no GPU is visible, oneDNN's kernels are not
    turned off (``TF_ENABLE_ONEDNN_OPTS=0``) and ``ONEDNN_MAX_CPU_ISA`` does
    not cap oneDNN below that fast path.  The rule follows measurements, not
    the flags alone: bfloat16 epochs ran faster than float32 ones on an AMD
    EPYC with AVX512-BF16 and on Intel Xeons with AMX, but slower on an Intel
    Xeon with AVX512-BF16 and no AMX.

    Parameters
    ----------
    cpuinfo : str, default="/proc/cpuinfo"
        Where to read the CPU's vendor and flags.
    environ : mapping, default=None
        None reads ``os.environ``.
    gpus : sequence, default=()
        The visible GPUs (``tf.config.list_physical_devices("GPU")``).

    Returns
    -------
    bfloat16 : bool
    """
    environ = os.environ if environ is None else environ
    if gpus or environ.get(ONEDNN_ENV, "").strip() == "0":
        return False
    cap = environ.get(ONEDNN_ISA_ENV, "").strip().upper()
    flags = cpu_flags(cpuinfo)
    amx = "amx_bf16" in flags and cap in _AMX_CAPS
    amd = cpu_vendor(cpuinfo) == "AuthenticAMD" and "avx512_bf16" in flags and cap in _BF16_CAPS
    return amx or amd
