"""The shipped knowledge base, compiled once and reused by every later run.

Parsing the ontology, regimens and shapes from Turtle takes most of a cold
call on one order. What the checks need from them (the data as N-Triples, the
rule catalogue, the context, the sources) is kept in a cache file named by a
digest of every file of the installed package, code and data alike, and of
the run's settings that change the data (--tolerance, --weight-change-threshold):
a changed regimen, shape, line of code or setting is a new file name, never a
stale answer. A site's own regimens (--regimens) are never compiled.

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

from chemo_protovalidate.model.version import __version__

_PACKAGE = Path(__file__).resolve().parents[1]  # the whole package: its code keys the cache too


Settings = dict[str, "float | None"]
"""The run's settings the compiled data depends on, by name (knowledge.py: tolerance, weight-change)."""


def load(settings: Settings | None = None) -> dict | None:
    path = _path(settings or {})
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception:  # a damaged or foreign file: recompute, never fail the run
        return None


def save(settings: Settings | None, data: dict) -> None:
    path = _path(settings or {})
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


def _path(settings: Settings) -> Path | None:
    folder = os.environ.get("PROTOVALIDATE_CACHE_DIR")
    if folder == "":  # set but empty: no cache
        return None
    if folder is None:
        base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
        folder = Path(base) / "protovalidate"
    return Path(folder) / f"kb-{__version__}-{_digest()}-{_settings_key(settings)}.pickle"


def _settings_key(settings: Settings) -> str:
    """Every setting by name and value as the data holds it (10 and 10.0 are one file); unset ones are left out."""
    from chemo_protovalidate.check.knowledge import percent_literal

    given = sorted((name, str(percent_literal(value))) for name, value in settings.items() if value is not None)
    return "_".join(f"{name}={value}" for name, value in given) or "shipped"


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
