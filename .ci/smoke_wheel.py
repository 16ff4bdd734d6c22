"""Smoke test of the installed wheel, run by .ci/run from a folder outside the source tree.

It checks that skfmnist is imported from the installed wheel, that the fetcher
reads the Fashion-MNIST files from ``SKFMNIST_DATA`` and finds its dataset
description (package data), and that the ``skfmnist`` command runs a quick
comparison on scikit-learn's digits.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import skfmnist
from skfmnist import fetch_fashion_mnist

package = Path(skfmnist.__file__).resolve().parent
assert "site-packages" in package.parts, f"skfmnist was imported from {package}, not from the installed wheel"

bunch = fetch_fashion_mnist(subset="test", download_if_missing=False)
assert bunch.data.shape == (10000, 784) and bunch.target.shape == (10000,), bunch.data.shape
assert "Fashion-MNIST" in bunch.DESCR, "the dataset description (package data) is missing from the wheel"

out = Path(tempfile.mkdtemp()) / "report"
command = [str(Path(sys.executable).with_name("skfmnist")), "compare", "--quick", "--dataset", "digits",
           "--no-progress", "--out", str(out)]
subprocess.run(command, check=True)
assert (out / "report.md").is_file() and (out / "metrics.json").is_file(), sorted(out.iterdir())
print(f"wheel smoke test passed: skfmnist {skfmnist.__version__} from {package}")
