"""The fetcher: IDX parsing, verification, downloads (local server), real files."""

import gzip
import hashlib
import http.server
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from skfmnist.datasets import (
    CLASS_NAMES,
    FILES,
    RemoteFileMetadata,
    fetch_fashion_mnist,
    fetch_remote,
    load_idx,
    verify_file,
)
from skfmnist.exceptions import DataIntegrityError, DataNotFoundError

from .conftest import requires_data


def _idx_bytes(array):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def _write_gz(path, payload):
    with gzip.open(path, "wb") as f:
        f.write(payload)
    return path


# ------------------------------------------------------------------ IDX parser
def test_load_idx_images_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    img = load_idx(_write_gz(tmp_path / "img.gz", _idx_bytes(images)))
    lab = load_idx(_write_gz(tmp_path / "lab.gz", _idx_bytes(labels)))
    np.testing.assert_array_equal(img, images)
    np.testing.assert_array_equal(lab, labels)
    assert img.flags.writeable


def test_load_idx_reads_uncompressed(tmp_path):
    path = tmp_path / "raw-idx1-ubyte"
    path.write_bytes(_idx_bytes(np.arange(4, dtype=np.uint8)))
    np.testing.assert_array_equal(load_idx(path), np.arange(4))


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"abc", "bad magic"),
        (b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"abc", "unknown IDX type"),
        (b"\x00\x00\x08\x03" + (2).to_bytes(4, "big"), "truncated IDX header"),
        (b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", "announces shape"),
        (b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + b"abc", "announces shape"),
        (b"\x00\x00", "bad magic"),
    ],
)
def test_load_idx_rejects_bad_files(tmp_path, payload, match):
    with pytest.raises(DataIntegrityError, match=match):
        load_idx(_write_gz(tmp_path / "bad.gz", payload))


def test_load_idx_rejects_broken_gzip(tmp_path):
    good = gzip.compress(_idx_bytes(np.arange(100, dtype=np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataIntegrityError, match="cannot be read"):
        load_idx(path)


# ---------------------------------------------------------------- verification
def _meta_for(path, name="f.gz", urls=()):
    data = path.read_bytes()
    return RemoteFileMetadata(name, tuple(urls), hashlib.sha256(data).hexdigest(), len(data))


def test_verify_file_accepts_and_rejects(tmp_path):
    path = _write_gz(tmp_path / "f.gz", _idx_bytes(np.arange(50, dtype=np.uint8)))
    meta = _meta_for(path)
    verify_file(path, meta)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # flip one byte, same size
    path.write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError) as exc:
        verify_file(path, meta)
    msg = str(exc.value)
    assert str(path) in msg and meta.sha256 in msg and "Delete it" in msg
    path.write_bytes(bytes(data[:-5]))
    with pytest.raises(DataIntegrityError, match="truncated"):
        verify_file(path, meta)


# ------------------------------------------------------------------- downloads
class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        mode, body = self.files.get(self.path, ("missing", b""))
        if mode == "missing":
            self.send_error(404)
            return
        self.send_response(200)
        if mode == "html":
            self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if mode != "cut" else body[: len(body) // 2])
        if mode == "cut":  # announce the whole file, send half, then hang up
            self.wfile.flush()
            self.connection.shutdown(2)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.files = {}
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler.files
    httpd.shutdown()
    httpd.server_close()


def _leftovers(folder):
    return [p for p in os.listdir(folder) if p.endswith(".part")]


def test_download_success(tmp_path, server):
    url, files = server
    body = gzip.compress(_idx_bytes(np.arange(256, dtype=np.uint8)))
    files["/ok.gz"] = ("ok", body)
    meta = RemoteFileMetadata("ok.gz", (url + "/ok.gz",), hashlib.sha256(body).hexdigest(), len(body))
    path = fetch_remote(meta, tmp_path / "dl", progress=False)
    assert path.read_bytes() == body
    assert _leftovers(tmp_path / "dl") == []


def test_download_falls_back_to_second_mirror(tmp_path, server):
    url, files = server
    body = gzip.compress(b"payload")
    files["/b.gz"] = ("ok", body)
    meta = RemoteFileMetadata("b.gz", (url + "/missing.gz", url + "/b.gz"), hashlib.sha256(body).hexdigest(), len(body))
    assert fetch_remote(meta, tmp_path, progress=False).read_bytes() == body


@pytest.mark.parametrize("mode", ["bad-checksum", "html", "cut"])
def test_download_failure_leaves_no_file(tmp_path, server, mode):
    url, files = server
    body = gzip.compress(_idx_bytes(np.arange(200, dtype=np.uint8)))
    good_sha = hashlib.sha256(body).hexdigest()
    corrupt = bytearray(body)
    corrupt[len(body) // 2] ^= 0xFF
    served = {"bad-checksum": ("ok", bytes(corrupt)), "html": ("html", b"<html>error</html>"), "cut": ("cut", body)}
    files["/f.gz"] = served[mode]
    meta = RemoteFileMetadata("f.gz", (url + "/f.gz",), good_sha, len(body))
    with pytest.raises(OSError, match="Could not download f.gz"):
        fetch_remote(meta, tmp_path, timeout=5, progress=False)
    assert not (tmp_path / "f.gz").exists()
    assert _leftovers(tmp_path) == []


def test_download_unreachable_is_quick_and_clear(tmp_path):
    # port 9 on loopback: nothing listens, the connection is refused at once
    meta = RemoteFileMetadata("x.gz", ("http://127.0.0.1:9/x.gz",), "0" * 64, 10)
    with pytest.raises(OSError, match="127.0.0.1:9"):
        fetch_remote(meta, tmp_path, timeout=2, progress=False)


# ------------------------------------------------------------- the fetcher API
@pytest.fixture
def fake_release(tmp_path, monkeypatch):
    """A folder of four small valid Fashion-MNIST-format files, with FILES patched."""
    import skfmnist.datasets._fashion_mnist as fm

    rng = np.random.default_rng(0)
    sizes = {"train": 20, "test": 10}
    folder = tmp_path / "release"
    folder.mkdir()
    patched = {}
    for split, n in sizes.items():
        arrays = {
            "images": rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            "labels": (np.arange(n) % 10).astype(np.uint8),
        }
        for kind, arr in arrays.items():
            meta = FILES[f"{split}_{kind}"]
            path = _write_gz(folder / meta.filename, _idx_bytes(arr))
            patched[f"{split}_{kind}"] = _meta_for(path, meta.filename, meta.urls)
    monkeypatch.setattr(fm, "FILES", patched)
    monkeypatch.setenv("SKFMNIST_DATA", str(folder))
    return folder


def test_fetch_bunch_and_subsets(fake_release):
    bunch = fetch_fashion_mnist(subset="all")
    assert bunch.data.shape == (30, 784) and bunch.data.dtype == np.uint8
    assert bunch.images.shape == (30, 28, 28)
    assert bunch.target.dtype == np.int64
    assert bunch.target_names == list(CLASS_NAMES)
    assert bunch.feature_names[:2] == ["pixel_0", "pixel_1"] and len(bunch.feature_names) == 784
    assert "Fashion-MNIST" in bunch.DESCR
    train = fetch_fashion_mnist(subset="train")
    np.testing.assert_array_equal(bunch.data[:20], train.data)  # train first
    X, y = fetch_fashion_mnist(subset="test", return_X_y=True)
    assert X.shape == (10, 784) and y.shape == (10,)


def test_fetch_as_frame(fake_release):
    bunch = fetch_fashion_mnist(subset="test", as_frame=True)
    assert bunch.data.shape == (10, 784) and list(bunch.data.columns[:1]) == ["pixel_0"]
    assert bunch.target.name == "class"
    assert bunch.frame.shape == (10, 785)
    X, y = fetch_fashion_mnist(subset="test", as_frame=True, return_X_y=True)
    assert hasattr(X, "iloc") and hasattr(y, "iloc")


def test_fetch_corrupted_cache_is_caught(fake_release):
    path = fake_release / FILES["test_images"].filename
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match="SHA-256 .* does not match"):
        fetch_fashion_mnist(subset="test", download_if_missing=False)


def test_fetch_missing_files_error_names_everything(tmp_path, monkeypatch):
    monkeypatch.delenv("SKFMNIST_DATA", raising=False)
    with pytest.raises(DataNotFoundError) as exc:
        fetch_fashion_mnist(subset="test", data_home=tmp_path, download_if_missing=False)
    msg = str(exc.value)
    for meta in FILES.values():
        assert meta.filename in msg
    assert str(tmp_path) in msg and "SKFMNIST_DATA" in msg


def test_fetch_bad_subset():
    with pytest.raises(ValueError, match="subset"):
        fetch_fashion_mnist(subset="validation")


def _no_tensorflow_after(code):
    code = f"import sys\n{code}\nassert 'tensorflow' not in sys.modules, 'tensorflow was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_importing_skfmnist_does_not_import_tensorflow():
    _no_tensorflow_after("import skfmnist, skfmnist.datasets, skfmnist.preprocessing, skfmnist.pipeline")


# ---------------------------------------------------------------- real dataset
@requires_data
def test_real_files():
    X, y = fetch_fashion_mnist(subset="test", return_X_y=True)
    assert X.shape == (10000, 784) and X.dtype == np.uint8
    assert y.shape == (10000,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 1000))
    train = fetch_fashion_mnist(subset="train")
    assert train.data.shape == (60000, 784)
    np.testing.assert_array_equal(np.bincount(train.target), np.full(10, 6000))
    assert round(float(train.data.mean(dtype=np.float64) / 255), 4) == 0.2860
    np.testing.assert_array_equal(train.images[0].ravel(), train.data[0])


@requires_data
def test_loading_real_data_does_not_import_tensorflow():
    _no_tensorflow_after("import skfmnist; skfmnist.fetch_fashion_mnist(subset='test')")


def test_fetch_redownloads_corrupted_cache_file(fake_release, server, monkeypatch):
    import skfmnist.datasets._fashion_mnist as fm

    url, files = server
    name = fm.FILES["test_labels"].filename
    good = (fake_release / name).read_bytes()
    files["/" + name] = ("ok", good)
    monkeypatch.setitem(fm.FILES, "test_labels", fm.FILES["test_labels"]._replace(urls=(f"{url}/{name}",)))
    (fake_release / name).write_bytes(good[:-3])  # truncated cache file
    X, y = fetch_fashion_mnist(subset="test", return_X_y=True)
    assert (fake_release / name).read_bytes() == good
    assert y.shape == (10,)


def test_two_fetches_at_once_both_get_the_verified_file(tmp_path, server):
    url, files = server
    body = gzip.compress(_idx_bytes(np.arange(250, dtype=np.uint8).repeat(400)))
    files["/c.gz"] = ("ok", body)
    meta = RemoteFileMetadata("c.gz", (url + "/c.gz",), hashlib.sha256(body).hexdigest(), len(body))
    results, errors = [], []

    def fetch():
        try:
            results.append(fetch_remote(meta, tmp_path, progress=False))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 4
    assert (tmp_path / "c.gz").read_bytes() == body
    assert _leftovers(tmp_path) == []


def test_data_folder_that_cannot_be_created(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SKFMNIST_DATA", str(blocker / "fashion-mnist"))
    with pytest.raises(DataNotFoundError, match="Could not get Fashion-MNIST file"):
        fetch_fashion_mnist(subset="test")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_data_folder(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    monkeypatch.setenv("SKFMNIST_DATA", str(folder))
    try:
        with pytest.raises(DataNotFoundError):
            fetch_fashion_mnist(subset="test")
    finally:
        folder.chmod(0o700)
