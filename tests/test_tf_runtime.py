"""TensorFlow's runtime as skfmnist starts it: oneDNN's CPU kernels, whatever the CPU."""

import json
import os
import platform
import subprocess
import sys

import pytest

from skfmnist.utils import _tf

x86_linux = pytest.mark.skipif(
    platform.machine().lower() not in _tf._X86 or not os.path.exists("/proc/cpuinfo"),
    reason="skfmnist asks for oneDNN on x86 only, and TensorFlow's own default is read from Linux' CPU flags",
)

# Records TF_ENABLE_ONEDNN_OPTS at the moment TensorFlow is first imported (which is
# when TensorFlow reads it), then imports the estimators the way users do.
_PROBE = """
import json, os, sys
seen = {}
def hook(event, args):
    if event == "import" and args[0] == "tensorflow" and "at_import" not in seen:
        seen["at_import"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
sys.addaudithook(hook)
import skfmnist.models
from skfmnist.utils._tf import onednn_enabled
print(json.dumps({**seen, "enabled": onednn_enabled()}))
"""


def _probe(onednn_env):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if onednn_env is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn_env
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@x86_linux
@pytest.mark.parametrize(
    "onednn_env, expected",
    [
        # TensorFlow's own default is on only for CPUs with AVX512-VNNI/BF16, AVX-VNNI
        # or AMX; skfmnist asks for it before TensorFlow starts, on every CPU
        (None, {"at_import": "1", "enabled": True}),
        # the user's choice wins: Eigen's kernels
        ("0", {"at_import": "0", "enabled": False}),
    ],
)
def test_onednn_is_on_before_tensorflow_starts_unless_the_user_says(onednn_env, expected):
    assert _probe(onednn_env) == expected


def test_onednn_default_is_for_x86_only():
    assert _tf._env_defaults("x86_64")["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert _tf._env_defaults("AMD64")["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert "TF_ENABLE_ONEDNN_OPTS" not in _tf._env_defaults("aarch64")  # other kernels there, not measured
    assert _tf._env_defaults("aarch64")["KERAS_BACKEND"] == "tensorflow"


def test_eigen_warning_only_when_tensorflow_chose_eigen_before_skfmnist_could_ask():
    assert "Import skfmnist before TensorFlow" in _tf._eigen_warning(True, True, False)
    assert _tf._eigen_warning(True, True, True) is None  # TensorFlow's own default was oneDNN
    assert _tf._eigen_warning(True, False, False) is None  # the user chose (TF_ENABLE_ONEDNN_OPTS=0)
    assert _tf._eigen_warning(False, True, False) is None  # TensorFlow started after skfmnist asked
    assert _tf._eigen_warning(True, True, None) is None  # this TensorFlow does not say


_TF_FIRST = """
import json, warnings
import tensorflow
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import skfmnist.models
from skfmnist.exceptions import PerformanceWarning
from skfmnist.utils._tf import onednn_enabled
print(json.dumps({"warned": any(issubclass(w.category, PerformanceWarning) for w in caught),
                  "enabled": onednn_enabled()}))
"""


@x86_linux
def test_tensorflow_imported_first_keeps_its_default_and_eigen_is_reported():
    # TensorFlow's own Linux default (DefaultOneDnnPolicy): oneDNN only with these flags
    own_default = bool(_tf.tensorflow_onednn_flags())
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    out = subprocess.run([sys.executable, "-c", _TF_FIRST], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"warned": not own_default, "enabled": own_default}


def test_tensorflow_onednn_flags_reads_the_policy_flags(tmp_path):
    cpu = tmp_path / "cpuinfo"
    cpu.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni amx_tile\n")
    assert _tf.tensorflow_onednn_flags(str(cpu)) == ["amx_tile", "avx512_vnni"]
    cpu.write_text("processor\t: 0\nflags\t\t: fpu avx2 fma\n")  # an AVX2 CPU: TensorFlow's default is Eigen
    assert _tf.tensorflow_onednn_flags(str(cpu)) == []
    assert _tf.tensorflow_onednn_flags(str(tmp_path / "missing")) == []
