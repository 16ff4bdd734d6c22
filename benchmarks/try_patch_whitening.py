"""Airbench's patch whitening tried on the CNN preset (validation split): the "Tried and not kept" figures.

The CNN preset with its first convolution replaced by a frozen one whose
filters are the plus and minus principal directions of the training images'
``k x k`` patches, each divided by the square root of its variance (plus
``EPS``), strongest first; filters beyond ``2 k**2`` keep their Glorot
initial values, frozen too.  Each run is ``model_selection.run`` (54,000 /
6,000 split of the training images; the test set is not read), one JSON line
per seed::

    python benchmarks/try_patch_whitening.py --patch 4 --seeds 0 1 2 3 4
    python benchmarks/try_patch_whitening.py --patch 3                   # 18 whitened, 14 random filters
    python benchmarks/try_patch_whitening.py --patch 3 --filters 18      # the 18 alone
    python benchmarks/try_patch_whitening.py --patch 3 --trainable       # trained from there
    python benchmarks/try_patch_whitening.py --patch 3 --whitened 0      # a frozen random convolution
    python benchmarks/try_patch_whitening.py --patch 4 --epochs 7

It did not pay (``model_selection.NOT_KEPT["cnn"]``), so the layer is not
part of skfmnist.
"""

# SPDX-License-Identifier: MIT

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from model_selection import run  # noqa: E402

#: Added to each patch variance before the square root (airbench's value).
EPS = 5e-4


def patch_directions(seed, k, n_images=5000):
    """Variances and principal directions (columns) of the ``k x k`` patches of the run's training images."""
    from sklearn.model_selection import train_test_split

    from skfmnist import fetch_fashion_mnist

    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    X_fit = train_test_split(X, y, test_size=0.1, stratify=y, random_state=seed)[0]  # run()'s training part
    images = (X_fit[:n_images] / 255.0).reshape(-1, 28, 28)
    before = (k - 1) // 2  # Keras' "same" padding
    padded = np.pad(images, ((0, 0), (before, k - 1 - before), (before, k - 1 - before)))
    patches = np.stack([padded[:, i:i + 28, j:j + 28] for i in range(k) for j in range(k)], -1).reshape(-1, k * k)
    variances, directions = np.linalg.eigh(patches.T @ patches / len(patches))
    return variances[::-1], directions[:, ::-1]


def whitened_cnn_builder(args, state):
    """``build_cnn`` with the frozen whitening convolution first; ``state["basis"]`` from :func:`patch_directions`."""
    from skfmnist.models import _networks as nets

    keras, layers = nets.keras, nets.layers

    def build(meta, *, filters, kernel_size, dense_units, dropout, batch_norm, augment, max_shift, horizontal_flip,
              seed):
        seeds = nets._Seeds(seed)
        k, n_filters = args.patch, args.filters
        kernel = np.array(keras.initializers.GlorotUniform(seed=seeds())((k, k, 1, n_filters)))
        variances, directions = state["basis"]
        scaled = directions / np.sqrt(variances + EPS)
        pairs = np.stack([scaled, -scaled], axis=-1).reshape(k * k, -1)
        n = min(n_filters, pairs.shape[1], 2 * k * k if args.whitened is None else args.whitened)
        kernel.reshape(k * k, n_filters)[:, :n] = pairs[:, :n]
        inputs = keras.Input(shape=tuple(meta["X_shape_"][1:]), name="images")
        x = nets._augmentation(inputs, augment, max_shift, horizontal_flip, seeds)
        conv = layers.Conv2D(n_filters, k, padding="same", use_bias=False,
                             kernel_initializer=keras.initializers.Constant(kernel), trainable=args.trainable)
        x = layers.MaxPooling2D(2, padding="same")(nets._normalized(conv, x, True))
        for n_conv in filters[1:]:
            x = layers.MaxPooling2D(2, padding="same")(nets._conv(x, n_conv, kernel_size, batch_norm, seeds))
        x = layers.Flatten()(x)
        if dense_units:
            x = nets._dense(x, dense_units, batch_norm, seeds)
        x = nets._dropout(x, dropout, seeds)
        return keras.Model(inputs, nets._output(x, meta["n_classes_"], seeds), name="cnn")

    return build


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", type=int, default=4, help="side of the patches (and of the first kernel)")
    parser.add_argument("--filters", type=int, default=32, help="filters of the first convolution")
    parser.add_argument("--whitened", type=int, default=None, help="how many of them whiten (default: all pairs)")
    parser.add_argument("--trainable", action="store_true", help="train the first convolution from there")
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)

    from skfmnist.models import _presets

    state = {}
    _presets.CNNClassifier._builder = staticmethod(whitened_cnn_builder(args, state))
    config = {"model": "cnn", **({"epochs": args.epochs} if args.epochs else {})}
    records = []
    for seed in args.seeds:
        state["basis"] = patch_directions(seed, args.patch)
        record = {**run(config, seed), "whitening": vars(args)}
        print(json.dumps(record), flush=True)
        records.append(record)
    return records


if __name__ == "__main__":
    main()
