"""One locator for the data bundled in ``geodata/``.

>>> from coverage.datasets import get_path
>>> get_path("townships").name
'townships.parquet'
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import DataFileNotFoundError

__all__ = ["CACHE_KEEP_DAYS", "available", "cache_dir", "geodata_dir", "get_path", "mark_used", "prune_cache"]

_FILES = {
    "townships": "townships.parquet",
    "villages": "villages.parquet",
    "seed_registry": "seed_registry.csv",
    "registry": "registry.csv",
    "service_areas": "service_areas.csv",
    "registry_completeness": "registry_completeness.csv",
    "national_targets": "reference/national_targets.csv",
    "mountain_indigenous": "reference/mountain_indigenous_30.csv",
    "plain_indigenous": "reference/plain_indigenous_25.csv",
    "offshore_islands": "reference/offshore_islands_18.csv",
    "county_remote": "reference/county_remote.csv",
    "moi_remote_2011": "reference/moi_remote_areas_2011.csv",
    "historic_names": "reference/historic_names.csv",
}


def geodata_dir() -> Path:
    """The directory holding the bundled data.

    ``SAFETYNET_GEODATA`` overrides it; otherwise the repository's ``geodata/`` (an
    editable install) or the copy packaged inside the wheel (``coverage/geodata``).

    Returns
    -------
    Path
        The data directory.
    """
    env = os.environ.get("SAFETYNET_GEODATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "geodata", here / "geodata"):
        if (candidate / "townships.parquet").exists():
            return candidate
    return here.parent / "geodata"


def cache_dir() -> Path:
    """Where built indexes (locate grids, road graphs) are kept between runs: ``SAFETYNET_CACHE``, else
    ``~/.cache/safetynet-coverage``. Everything there can be deleted; it is rebuilt when needed.

    Returns
    -------
    Path
        The cache directory (not created here).
    """
    env = os.environ.get("SAFETYNET_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "safetynet-coverage"


#: A built road graph or locate grid not used for this many days is removed when another one is saved.
CACHE_KEEP_DAYS = 30


def mark_used(path: Path) -> None:
    """Record that a cache file was just used (its modification time set to now), so that
    :func:`prune_cache` keeps it. A file that cannot be touched is left as it is.

    Parameters
    ----------
    path : Path
        A file in :func:`cache_dir`.
    """
    with contextlib.suppress(OSError):
        os.utime(path)


def prune_cache(pattern: str, *, days: float = CACHE_KEEP_DAYS, now: float | None = None) -> list[Path]:
    """Remove the files of :func:`cache_dir` matching ``pattern`` that have not been used (written, or
    marked by :func:`mark_used`) for ``days`` days, and leftovers of interrupted writes of them
    (``.NAME.*.part``) older than a day. Without it, every new version of a road file would leave its
    graph (up to ~0.5 GB for the whole of Taiwan) in the cache for ever. Files that cannot be removed
    are left; nothing is raised.

    Parameters
    ----------
    pattern : str
        A glob pattern for file names, e.g. ``"network-*.npz"``.
    days : float
        Age, in days since last use, beyond which a file is removed.
    now : float, optional
        The time to measure ages from (seconds since the epoch); default: now.

    Returns
    -------
    list of Path
        The files removed, sorted.
    """
    import time

    now = time.time() if now is None else now
    folder = cache_dir()
    removed = []
    for limit, glob in ((days, pattern), (1.0, f".{pattern}.*.part")):
        for path in folder.glob(glob):
            try:
                if now - path.stat().st_mtime > limit * 86400:
                    path.unlink()
                    removed.append(path)
            except OSError:
                continue
    return sorted(removed)


def available() -> list[str]:
    """Names accepted by :func:`get_path`.

    Returns
    -------
    list of str
        The names, sorted.
    """
    return sorted(_FILES)


def get_path(name: str) -> Path:
    """Path of the bundled data file called ``name``.

    Parameters
    ----------
    name : str
        One of :func:`available` (e.g. ``"townships"``, ``"registry"``).

    Returns
    -------
    Path
        The file, which exists.

    Raises
    ------
    DataFileNotFoundError
        If ``name`` is not one of :func:`available`, or its file is missing.
    """
    try:
        rel = _FILES[name]
    except KeyError:
        raise DataFileNotFoundError(
            f"no bundled data called {name!r}; valid names: {', '.join(available())}"
        ) from None
    path = geodata_dir() / rel
    if not path.exists():
        raise DataFileNotFoundError(
            f"bundled data {name!r} is missing at {path}; rebuild it with scripts/build_geodata.py"
        )
    return path
