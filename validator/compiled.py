"""The shipped knowledge base, compiled once and reused by every later run.

Parsing the ontology, regimens and shapes from Turtle takes most of a cold
call on one order. What the checks need from them (the data as N-Triples, the
rule catalogue, the context, the sources) is kept in a cache file named by a
digest of every file of the installed package, code and data alike, and of
the run's tolerance: a changed regimen, shape or line of code is a new digest,
never a stale answer. A site's own regimens (--regimens) are never compiled.

The cache lives in $PROTOVALIDATE_CACHE_DIR, else $XDG_CACHE_HOME/protovalidate,
else ~/.cache/protovalidate. It is a pickle, trusted as the package itself is
(SECURITY.md): the directory is created private to the user, files are written
whole (write, then rename), and a file that does not load is recomputed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path

from . import __version__

_PACKAGE = Path(__file__).resolve().parent


def load(tolerance_percent: float | None) -> dict | None:
    path = _path(tolerance_percent)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception:  # a damaged or foreign file: recompute, never fail the run
        return None


def save(tolerance_percent: float | None, data: dict) -> None:
    path = _path(tolerance_percent)
    if path is None:
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
            pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)
        for old in path.parent.glob("kb-*.pickle"):  # another version of the package: never read again
            if f"-{_digest()}-" not in old.name:
                old.unlink(missing_ok=True)
    except OSError:  # a read-only home is no reason to fail a check: the next run parses again
        return


def _path(tolerance_percent: float | None) -> Path | None:
    folder = os.environ.get("PROTOVALIDATE_CACHE_DIR")
    if folder == "":  # set but empty: no cache
        return None
    if folder is None:
        base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
        folder = Path(base) / "protovalidate"
    return Path(folder) / f"kb-{__version__}-{_digest()}-{tolerance_percent}.pickle"


@lru_cache(maxsize=1)
def _digest() -> str:
    """Every file of the installed package (an editable install: the source folders it maps)."""
    digest = hashlib.sha256()
    for root in sorted({_PACKAGE, *_data_folders()}):
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _data_folders() -> list[Path]:
    from importlib import resources

    return [Path(str(resources.files(name))) for name in ("chemo_protovalidate.ontology", "chemo_protovalidate.shapes")]
