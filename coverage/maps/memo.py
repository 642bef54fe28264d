"""Work the maps of one run share: computed once for all of them, not once per map.

:func:`coverage.maps.render.write_maps` draws every county's map and the national map from one
report and one township table. What does not depend on the map — the boundaries projected to
metres, every facility's state, popup and service area, every township's tooltip and label point —
is computed on first use inside :func:`sharing` and handed out again to the next map; each map
then takes its own rows of it. The results are those of computing it map by map (the same
functions on the same rows: tests/maps/test_memo.py compares the pages).

Work that is the same across runs (folium's page skeleton, the display geometry of a set of
boundaries, the catchment outlines of a set of service areas) is kept on disk instead, under
``datasets.cache_dir()/maps``: :func:`read_cached`, :func:`write_cached`, each entry named by a hash of
everything it depends on (computed by its caller).

A leaf module of :mod:`coverage.maps` (it imports only :func:`coverage.datasets.cache_dir`). Outside
:func:`sharing` nothing is kept in memory: :func:`shared` computes afresh on every call.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["cached_path", "code_digest", "is_sharing", "read_cached", "shared", "sharing", "write_cached"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# name → (the inputs, kept alive so that their ids stay theirs; the value)
_MEMO: contextvars.ContextVar[dict[Hashable, tuple[tuple[Any, ...], Any]] | None] = contextvars.ContextVar(
    "_MEMO", default=None)


@contextlib.contextmanager
def sharing() -> Iterator[None]:
    """Keep what :func:`shared` computes until the block ends (a block inside another joins it).

    The inputs handed to :func:`shared` must not change inside the block: a value is found again
    by the identity of its inputs, not by their content.

    Yields
    ------
    None
    """
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def is_sharing() -> bool:
    """Whether a :func:`sharing` block is active: then work for every map at once pays off.

    Returns
    -------
    bool
    """
    return _MEMO.get() is not None


def shared(name: Hashable, inputs: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or inside :func:`sharing` the value it gave for the same ``name`` and ``inputs``.

    Parameters
    ----------
    name : hashable
        What is computed, with any plain parameters of it (``("tooltips", ("a", "b"), 3)``).
    inputs : tuple
        The objects it is computed from (data frames, a report), told apart by identity.
    compute : callable
        Takes nothing and returns the value; its value is handed out as is, so callers must not
        change it.

    Returns
    -------
    object
        The value.

    Examples
    --------
    >>> calls = []
    >>> table = object()
    >>> with sharing():
    ...     first = shared("n", (table,), lambda: calls.append(1) or len(calls))
    ...     again = shared("n", (table,), lambda: calls.append(1) or len(calls))
    >>> first, again, len(calls)
    (1, 1, 1)
    """
    memo = _MEMO.get()
    if memo is None:
        return compute()
    key = (name, *map(id, inputs))
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (inputs, compute())
    return hit[1]


def code_digest(tag: str, sources: Sequence[str | Path]) -> str:
    """Hash of what a disk-cache entry's content depends on besides its inputs: a format ``tag``, the
    ``sources`` (module files) that compute it, and the versions of shapely, pyproj, geopandas and GEOS.

    Parameters
    ----------
    tag : str
        The entry's format, bumped when what is kept changes (``outlines-v1``).
    sources : sequence of str or Path
        The files of the code that makes the entry (``__file__`` of its modules).

    Returns
    -------
    str
        A SHA-256 hex digest.
    """
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    import shapely

    digest = hashlib.sha256(tag.encode())
    for source in sources:
        digest.update(Path(source).read_bytes())
    for name in ("shapely", "pyproj", "geopandas"):
        try:
            digest.update(f"|{name} {version(name)}".encode())
        except PackageNotFoundError:
            digest.update(f"|{name} ?".encode())
    digest.update(f"|geos {shapely.geos_version_string}".encode())
    return digest.hexdigest()


def cached_path(kind: str, key: str) -> Path:
    """The disk-cache file of an entry: ``datasets.cache_dir()/maps/KIND-KEY.json``.

    Parameters
    ----------
    kind : str
        What is kept (``display``, ``outlines``, ``assets`` …).
    key : str
        Hash of everything the entry depends on.

    Returns
    -------
    Path
        The file (it may not exist).
    """
    from ..datasets import cache_dir

    return cache_dir() / "maps" / f"{kind}-{key}.json"


def read_cached(kind: str, key: str) -> Any:
    """The JSON value kept for ``kind`` and ``key``; None when there is none or it cannot be read.

    The caller checks the value's shape: a malformed entry is computed again and rewritten.

    Parameters
    ----------
    kind, key : str
        As for :func:`cached_path`.

    Returns
    -------
    object or None
        The decoded JSON.
    """
    import json

    try:
        return json.loads(cached_path(kind, key).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def write_cached(kind: str, key: str, value: Any) -> None:
    """Keep ``value`` (JSON-able) for ``kind`` and ``key``, written atomically; a cache that cannot be
    written is only logged (the run goes on: the cache only saves time).

    Parameters
    ----------
    kind, key : str
        As for :func:`cached_path`.
    value : object
        Plain JSON data (dicts, lists, strings, numbers).
    """
    import json
    import os
    import tempfile

    path = cached_path(kind, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh, ensure_ascii=False, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.debug("map cache %s not written (%s)", path, exc)
