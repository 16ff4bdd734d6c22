"""Shared helpers of the benchmarks: the command and machine of a run, Markdown tables, RESULTS.md sections.

Each benchmark script owns one section of ``benchmarks/RESULTS.md``, between
``<!-- begin NAME -->`` and ``<!-- end NAME -->`` markers, and rewrites only
that section, so that running one benchmark keeps the others' figures.
"""

# SPDX-License-Identifier: MIT

import os
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path

from skfmnist.utils import versions

#: Environment variables that choose the CPU kernels: TensorFlow's (oneDNN or Eigen), the
#: instruction sets of oneDNN and PyTorch, the BLAS libraries'.
KERNEL_ENV = (
    "TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "OPENBLAS_CORETYPE"
)

#: The environment as the benchmark found it, before skfmnist set its defaults for TensorFlow.
_ENVIRONMENT = dict(os.environ)

TITLE = "# skfmnist benchmarks\n\nEvery figure below comes from the command quoted at the top of its section.\n"


def command_line(script, argv=None):
    """The shell command that ran ``script`` with ``argv``, quoted so that it runs as pasted.

    ``argv`` defaults to ``sys.argv[1:]``; arguments holding spaces or quotes
    (a ``--params`` JSON object) are quoted with :func:`shlex.join`.  The
    variables of :data:`KERNEL_ENV` that the environment set come first
    (``ONEDNN_MAX_CPU_ISA=AVX2 python ...``), not those that skfmnist set
    itself when it imported TensorFlow.
    """
    env = [f"{k}={shlex.quote(_ENVIRONMENT[k])}" for k in KERNEL_ENV if k in _ENVIRONMENT]
    return " ".join([*env, shlex.join(["python", f"benchmarks/{script}", *(sys.argv[1:] if argv is None else argv)])])


def header(command, settings):
    """Lines naming the command, the date, the machine, the library versions and TensorFlow's CPU kernels."""
    v = versions()
    # present where the benchmark ran TensorFlow in this process
    kernels = f" TensorFlow's CPU kernels: {v['tensorflow_cpu_kernels']}." if "tensorflow_cpu_kernels" in v else ""
    return [
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}.", "",
        f"Machine: {v['cpu']}, {v['cores']} cores. Python {v['python']}, tensorflow {v['tensorflow']}, "
        f"keras {v['keras']}, scikeras {v['scikeras']}, scikit-learn {v['scikit-learn']}, numpy {v['numpy']}."
        f"{kernels}", "",
        f"Settings: {settings}", "",
    ]


def table(rows, cols):
    """Markdown table; ``cols`` is ``[(header, (key, format))]``."""
    head = "| " + " | ".join(h for h, _ in cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = "".join(
        "| " + " | ".join(fmt.format(r[key]) if key in r else "n/a" for _, (key, fmt) in cols) + " |\n"
        for r in rows
    )
    return head + body


def write_section(path, name, text):
    """Replace (or append) section ``name`` of the Markdown file ``path``, atomically.

    Parameters
    ----------
    path : str or Path
        The results file; created with a title if missing.
    name : str
        Section name used in the markers.
    text : str
        The section's Markdown.
    """
    path = Path(path)
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text() if path.exists() else TITLE
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: block, old, count=1)
    else:
        new = old.rstrip() + "\n\n" + block
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(new)
    os.replace(tmp, path)
