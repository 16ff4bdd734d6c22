"""Test-time views of the deep CNN, chosen on the training data only.

Fits ``DeepCNNClassifier`` with its defaults (the training half of its
choice; prediction is what is compared) on 54,000 training images and keeps
a stratified, seeded 6,000-image validation split of the training set; the
test set is never read.  The network's class probabilities of every
validation image are saved for each view: the image moved by every offset
``(dy, dx)`` up to 2 pixels in the 13 offsets listed in ``SHIFTS`` (zeros
filling the border, as in the training augmentation's shifts), each also
mirrored.  Any set of views is then scored offline by averaging its
probabilities::

    python benchmarks/test_time_views.py fit 0 --save views_0.npz    # ~16 min on 2 cores
    python benchmarks/test_time_views.py fit 1 --save views_1.npz
    python benchmarks/test_time_views.py score views_0.npz views_1.npz

``score`` prints one Markdown row per seed with the validation accuracy of
each set of views in ``VIEW_SETS``.
"""

# SPDX-License-Identifier: MIT

import argparse
import sys
import time

import numpy as np

#: Offsets (dy, dx) in pixels: the image itself, 1 pixel in 8 directions, 2 pixels in 4.
SHIFTS = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1),
          (0, 2), (0, -2), (2, 0), (-2, 0)]

_CENTER = [(0, 0)]
_ONE_4 = [(0, 1), (0, -1), (1, 0), (-1, 0)]
_ONE_DIAGONAL = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
_TWO_4 = [(0, 2), (0, -2), (2, 0), (-2, 0)]

#: The sets of views scored: name -> (mirror too?, offsets).
VIEW_SETS = {
    "network alone": (False, _CENTER),
    "mirror": (True, _CENTER),
    "1 px, 4 directions": (False, _CENTER + _ONE_4),
    "mirror + 1 px, 4 directions": (True, _CENTER + _ONE_4),
    "mirror + 1 px, 8 directions (test_time_shift=1)": (True, _CENTER + _ONE_4 + _ONE_DIAGONAL),
    "mirror + 1 px, 4 + 2 px, 4": (True, _CENTER + _ONE_4 + _TWO_4),
    "mirror + all 13 offsets": (True, SHIFTS),
}


def shift_images(images, dy, dx):
    """Images moved ``dy`` rows down and ``dx`` columns right, zeros filling the border."""
    moved = np.roll(images, (dy, dx), axis=(1, 2))
    rows = slice(0, dy) if dy > 0 else slice(dy, None) if dy < 0 else slice(0, 0)
    cols = slice(0, dx) if dx > 0 else slice(dx, None) if dx < 0 else slice(0, 0)
    moved[:, rows] = 0  # what rolled in from the other side
    moved[:, :, cols] = 0
    return moved


def fit(seed, save):
    from sklearn.model_selection import train_test_split

    from skfmnist import DeepCNNClassifier, fetch_fashion_mnist

    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    X = np.asarray(X, np.float32).reshape(-1, 28, 28, 1) / 255
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=6000, stratify=y, random_state=seed)
    clf = DeepCNNClassifier(random_state=seed, test_time_flip=False, test_time_shift=0)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    model = clf.model_
    views, probas = [], []
    for mirror in (False, True):
        base = X_val[:, :, ::-1] if mirror else X_val
        for dy, dx in SHIFTS:
            view = np.ascontiguousarray(shift_images(base, dy, dx))
            batches = range(0, len(view), 1000)
            p = np.concatenate([np.asarray(model.predict_on_batch(view[i : i + 1000])) for i in batches])
            views.append((int(mirror), dy, dx))
            probas.append(p.astype(np.float32))
    np.savez(save, probas=np.stack(probas), y=np.searchsorted(clf.classes_, y_val), views=np.array(views),
             fit_s=fit_s, seed=seed)


def score(paths):
    names = list(VIEW_SETS)
    print("| seed | fit s | " + " | ".join(f"{n} %" for n in names) + " |")
    print("|---" * (len(names) + 2) + "|")
    for path in paths:
        saved = np.load(path)
        probas, y = saved["probas"], saved["y"]
        index = {tuple(int(v) for v in view): i for i, view in enumerate(saved["views"])}
        cells = []
        for mirror, offsets in VIEW_SETS.values():
            chosen = [index[(0, dy, dx)] for dy, dx in offsets]
            if mirror:
                chosen += [index[(1, dy, dx)] for dy, dx in offsets]
            cells.append(f"{100 * np.mean(probas[chosen].mean(0).argmax(1) == y):.2f}")
        seed = int(saved["seed"]) if "seed" in saved.files else "?"
        print(f"| {seed} | {float(saved['fit_s']):.0f} | " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("fit", help="fit one seed and save the validation probabilities of every view")
    one.add_argument("seed", type=int)
    one.add_argument("--save", required=True)
    many = sub.add_parser("score", help="validation accuracy of each set of views, one row per file")
    many.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "fit":
        fit(args.seed, args.save)
    else:
        score(args.paths)


if __name__ == "__main__":
    sys.exit(main())
