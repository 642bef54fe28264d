"""One locator for the data bundled in ``geodata/``.

>>> from coverage.datasets import get_path
>>> get_path("townships").name
'townships.parquet'
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataFileNotFoundError

__all__ = ["available", "cache_dir", "geodata_dir", "get_path"]

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
