"""The environment variables skfmnist sets (only where unset) and reads, and TensorFlow's start as it follows."""

import json
import os
import platform
import subprocess
import sys

import pytest

from skfmnist.utils import _cpu, _env

from .conftest import tensorflow_only

x86_linux = pytest.mark.skipif(
    platform.machine().lower() not in _env.X86 or not os.path.exists("/proc/cpuinfo"),
    reason="skfmnist asks for oneDNN on x86 only, and TensorFlow's own default is read from Linux' CPU flags",
)

# What the environment held when TensorFlow was imported (TensorFlow reads it then), the kernels TensorFlow
# reports (through an internal function: fine in a test, not in the package), and skfmnist's own answer.
_PROBE = """
import json, os, sys, warnings
seen = {}
def hook(event, args):
    if event == "import" and args[0] == "tensorflow" and "at_import" not in seen:
        seen["at_import"] = {k: os.environ.get(k) for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL",
                                                               "KERAS_BACKEND")}
sys.addaudithook(hook)
if sys.argv[1] == "tf-first":
    import tensorflow
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from skfmnist.utils._keras import import_keras, tensorflow_cpu_kernels
    import_keras()
from tensorflow.python.util import _pywrap_util_port
print(json.dumps({**seen, "running_onednn": bool(_pywrap_util_port.IsMklEnabled()),
                  "reported": tensorflow_cpu_kernels(),
                  "warned": [str(w.message)[:40] for w in caught if w.category.__name__ == "PerformanceWarning"]}))
"""


def _probe(env_changes, order="skfmnist-first"):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", _PROBE, order], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_defaults_are_set_only_where_unset():
    environ = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    set_here = _env.set_env_defaults(environ, machine="x86_64")
    assert set_here == {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "1"}
    assert environ == {"TF_CPP_MIN_LOG_LEVEL": "0", **set_here}  # the user's value stays
    assert "TF_ENABLE_ONEDNN_OPTS" not in _env.env_defaults("aarch64")  # other kernels there, not measured


def test_thread_counts_from_the_environment():
    assert _env.threads_from_env({}) == (None, None)
    assert _env.threads_from_env({"OMP_NUM_THREADS": "2"}) == (2, 2)  # joblib's share for its workers
    assert _env.threads_from_env({"OMP_NUM_THREADS": "2", "SKFMNIST_TF_THREADS": "1"}) == (1, 1)
    assert _env.threads_from_env({"SKFMNIST_TF_THREADS": "1", "SKFMNIST_TF_INTER_THREADS": "2"}) == (1, 2)
    assert _env.threads_from_env({"SKFMNIST_TF_THREADS": "x"}) == (None, None)


@x86_linux
@tensorflow_only
def test_tensorflow_starts_with_onednn_unless_the_user_says():
    started = _probe({})
    assert started["at_import"] == {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
                                    "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow")}
    assert started["running_onednn"] is True and started["reported"] == "oneDNN" and not started["warned"]
    chosen = _probe({"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "1"})
    assert chosen["at_import"]["TF_ENABLE_ONEDNN_OPTS"] == "0" and chosen["at_import"]["TF_CPP_MIN_LOG_LEVEL"] == "1"
    assert chosen["running_onednn"] is False and chosen["reported"] == "Eigen" and not chosen["warned"]


@x86_linux
@tensorflow_only
def test_tensorflow_imported_first_keeps_its_default_which_skfmnist_reports():
    started = _probe({}, order="tf-first")
    assert started["at_import"]["TF_ENABLE_ONEDNN_OPTS"] is None  # nothing set behind the user's back
    own_default = _cpu.tensorflow_default_onednn()
    assert started["running_onednn"] is own_default
    assert started["reported"] == ("oneDNN" if own_default else "Eigen")
    assert bool(started["warned"]) is not own_default  # warned exactly where that default is Eigen


def _cpuinfo(tmp_path, name, vendor, flags):
    cpu = f"processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: 6\nmodel\t\t: 143\nmodel name\t: A CPU\n" \
          f"flags\t\t: {flags}\n\n"
    (tmp_path / name).write_text(cpu + cpu.replace(": 0", ": 1"))
    return str(tmp_path / name)


def test_bfloat16_only_where_it_was_measured_faster(tmp_path):
    amx = _cpuinfo(tmp_path, "amx", "GenuineIntel", "avx512f avx512_bf16 amx_bf16 amx_tile")
    amd = _cpuinfo(tmp_path, "amd", "AuthenticAMD", "avx2 avx512f avx512_bf16")
    intel_bf16 = _cpuinfo(tmp_path, "intel", "GenuineIntel", "avx512f avx512_bf16")  # measured slower
    plain = _cpuinfo(tmp_path, "plain", "AuthenticAMD", "avx2 fma")
    assert _cpu.prefers_bfloat16(amx, environ={}) and _cpu.prefers_bfloat16(amd, environ={})
    assert not _cpu.prefers_bfloat16(intel_bf16, environ={}) and not _cpu.prefers_bfloat16(plain, environ={})
    assert not _cpu.prefers_bfloat16(str(tmp_path / "missing"), environ={})
    assert not _cpu.prefers_bfloat16(amx, environ={}, gpus=["GPU:0"])
    assert not _cpu.prefers_bfloat16(amx, environ={"TF_ENABLE_ONEDNN_OPTS": "0"})  # Eigen: no bfloat16 path
    for cap, amx_fast, amd_fast in [("AVX2", False, False), ("AVX512_CORE_BF16", False, True),
                                    ("avx512_core_amx", True, True), ("NOT_AN_ISA", False, False)]:
        environ = {"ONEDNN_MAX_CPU_ISA": cap}
        assert _cpu.prefers_bfloat16(amx, environ=environ) is amx_fast, cap
        assert _cpu.prefers_bfloat16(amd, environ=environ) is amd_fast, cap


def test_cpu_model_names_family_and_model(tmp_path):
    path = _cpuinfo(tmp_path, "cpu", "AuthenticAMD", "avx2")
    assert _cpu.cpu_model(path) == "A CPU (family 6, model 143)"  # the first CPU's
    (tmp_path / "bare").write_text("processor\t: 0\nmodel name\t: Some CPU\n")
    assert _cpu.cpu_model(str(tmp_path / "bare")) == "Some CPU"
    assert _cpu.cpu_model(str(tmp_path / "missing"))  # platform's answer
    assert _cpu.tensorflow_default_onednn(path) is False
    assert _cpu.tensorflow_default_onednn(_cpuinfo(tmp_path, "vnni", "GenuineIntel", "avx512_vnni")) is True


def test_jax_cache_folder_from_the_environment(tmp_path):
    flags = {"avx2", "avx512f"}
    default = _env.jax_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}, flags=flags)
    assert os.path.dirname(default) == os.path.join(str(tmp_path), "skfmnist", "jax")
    mine = _env.jax_cache_dir({"SKFMNIST_JAX_CACHE": "/data/jax", "XDG_CACHE_HOME": str(tmp_path)}, flags=flags)
    assert os.path.dirname(mine) == "/data/jax"
    # one subfolder per kind of CPU (XLA compiles for the host's instructions), the same for the same flags
    assert os.path.basename(mine) == os.path.basename(default)
    other = _env.jax_cache_dir({"SKFMNIST_JAX_CACHE": "/data/jax"}, flags=flags | {"amx_bf16"})
    assert os.path.dirname(other) == "/data/jax" and other != mine
    for off in ("0", "off", "false", "No"):
        assert _env.jax_cache_dir({"SKFMNIST_JAX_CACHE": off}, flags=flags) is None
    # "~" is the home folder, as in SKFMNIST_DATA (the variable is often set where no shell expands it)
    in_home = _env.jax_cache_dir({"SKFMNIST_JAX_CACHE": "~/jax"}, flags=flags)
    assert os.path.dirname(in_home) == os.path.join(os.path.expanduser("~"), "jax")
