"""Dataset plumbing: data home, verified atomic downloads, IDX parsing.

Plain numpy and the standard library only: loading data never imports
TensorFlow.
"""

# SPDX-License-Identifier: MIT

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections import namedtuple
from pathlib import Path

import numpy as np
from sklearn.datasets import get_data_home as _sklearn_get_data_home

from ..exceptions import DataIntegrityError

__all__ = [
    "RemoteFileMetadata",
    "fetch_remote",
    "get_data_home",
    "load_idx",
    "sha256sum",
    "verify_file",
]

#: Seconds to wait for a connection or for the next chunk of a download.
DEFAULT_TIMEOUT = 15.0
_CHUNK = 1 << 16

RemoteFileMetadata = namedtuple("RemoteFileMetadata", ["filename", "urls", "sha256", "size"])
RemoteFileMetadata.__doc__ = """A file of a dataset, where to get it and how to check it.

Parameters
----------
filename : str
    Name of the file on disk.
urls : tuple of str
    Mirrors, tried in order.
sha256 : str
    Published SHA-256 checksum of the file.
size : int
    Size of the file in bytes.
"""


def get_data_home(data_home=None):
    """Return the folder where skfmnist keeps its datasets.

    This is scikit-learn's data home (``~/scikit_learn_data`` unless
    ``SCIKIT_LEARN_DATA`` says otherwise, or ``data_home`` when given); the
    folder is created when it does not exist.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to use instead of scikit-learn's default.

    Returns
    -------
    data_home : str
        Path of the data folder.
    """
    return _sklearn_get_data_home(data_home)


_VERIFIED = {}  # (path, size, mtime_ns) -> sha256, so a file is hashed once per process


def sha256sum(path):
    """SHA-256 hex digest of a file, read in chunks.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    digest : str
        Lower-case hexadecimal SHA-256.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path, metadata):
    """Check a file's size and SHA-256 against its published metadata.

    Parameters
    ----------
    path : str or path-like
        The file on disk.
    metadata : RemoteFileMetadata
        What the file must be.

    Raises
    ------
    DataIntegrityError
        When the size or the checksum differs; the message names the file,
        both checksums and how to fix it.
    """
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key) == metadata.sha256:
        return
    fix = (
        f"Delete it (rm '{path}') so that it is downloaded again, or replace it "
        "with the official file."
    )
    if metadata.size is not None and st.st_size != metadata.size:
        raise DataIntegrityError(
            f"{path} is {st.st_size} bytes, expected {metadata.size} bytes "
            f"(truncated or not the official file; expected SHA-256 {metadata.sha256}). "
            + fix
        )
    actual = sha256sum(path)
    if actual != metadata.sha256:
        raise DataIntegrityError(
            f"{path} is corrupted: SHA-256 {actual} does not match the expected "
            f"{metadata.sha256}. " + fix
        )
    _VERIFIED[key] = metadata.sha256


def _progress_bar(total, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
        disable=not enabled, mininterval=1.0,
    )


def _download_one(url, tmp, metadata, timeout, progress):
    request = urllib.request.Request(url, headers={"User-Agent": "skfmnist"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        ctype = response.headers.get("Content-Type", "") or ""
        if ctype.startswith("text/html"):
            raise OSError(f"{url} answered with an HTML page, not the data file")
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else metadata.size
        received = 0
        with open(tmp, "wb") as out, _progress_bar(total, metadata.filename, progress) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if length and length.isdigit() and received != int(length):
            raise OSError(f"transfer interrupted: received {received} of {length} bytes")


def fetch_remote(metadata, dirname, *, timeout=DEFAULT_TIMEOUT, progress=True):
    """Download a file into ``dirname`` and verify it before it appears there.

    Each mirror in ``metadata.urls`` is tried in turn.  The bytes go to a
    temporary file in the same folder, which is renamed into place
    (atomically, :func:`os.replace`) only once its size and SHA-256 match.
    An interrupted or bad download therefore never leaves a partial file
    under the final name, and two processes fetching at once both end with
    the verified file.

    Parameters
    ----------
    metadata : RemoteFileMetadata
        The file to fetch.
    dirname : str or path-like
        Destination folder (created if missing).
    timeout : float, default=15.0
        Seconds to wait for a connection and for each read.
    progress : bool, default=True
        Show a progress bar (on standard error).

    Returns
    -------
    path : pathlib.Path
        The verified file.

    Raises
    ------
    OSError
        When no mirror delivered a file with the right checksum; the message
        lists what each mirror did.
    """
    dirname = Path(dirname)
    dirname.mkdir(parents=True, exist_ok=True)
    final = dirname / metadata.filename
    errors = []
    for url in metadata.urls:
        fd, tmp = tempfile.mkstemp(prefix=f".{metadata.filename}.", suffix=".part", dir=dirname)
        os.close(fd)
        try:
            _download_one(url, tmp, metadata, timeout, progress)
            verify_file(tmp, metadata)
            os.replace(tmp, final)
            return final
        except (urllib.error.URLError, TimeoutError, OSError, DataIntegrityError) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise OSError(
        f"Could not download {metadata.filename}:\n  " + "\n  ".join(errors)
    )


# IDX: big-endian header, magic = 0x00 0x00 <type code> <number of dims>
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _open(path):
    path = Path(path)
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def load_idx(path):
    """Read an IDX file (optionally gzip-compressed) into a numpy array.

    The header is validated: the magic number, a known type code, the
    number of dimensions, and a payload of exactly the announced size.

    Parameters
    ----------
    path : str or path-like
        The ``.gz`` or raw IDX file.

    Returns
    -------
    array : ndarray
        Array of the shape the header announces, native byte order.

    Raises
    ------
    DataIntegrityError
        When the file is not a valid IDX file.

    Examples
    --------
    >>> import gzip, os, tempfile
    >>> import numpy as np
    >>> from skfmnist.datasets import load_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.gz")
    >>> with gzip.open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> load_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataIntegrityError(f"{path} cannot be read as a gzip/IDX file: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataIntegrityError(f"{path} is not an IDX file: bad magic number {raw[:4].hex()!r}")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise DataIntegrityError(f"{path}: unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise DataIntegrityError(f"{path}: IDX header announces 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataIntegrityError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataIntegrityError(
            f"{path}: IDX header announces shape {shape} ({expected} bytes of data), "
            f"but the file holds {len(raw) - header} bytes"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)
