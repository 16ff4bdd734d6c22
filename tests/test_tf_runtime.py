"""TensorFlow's runtime as skfmnist starts it: oneDNN's CPU kernels, whatever the CPU."""

import json
import os
import subprocess
import sys

import pytest

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
