"""How complete the data behind each county × programme figure is: ``complete``, ``partial`` or ``none``.

A programme with no data must not look like a real gap ("0.0%"). The bundled registry carries its
own completeness (``geodata/registry_completeness.csv``, written by ``scripts/build_registry.py``:
the national 社福中心 list is complete for every county, the 社區心理衛生中心 list is partial, the seed
programmes are as their county reports say). For a user's own registries nothing is known beyond what
was read: a county × programme with no point in any registry read is ``none``, anything else
``complete`` as far as this tool can tell (the user vouches for their file).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from .vocabulary import DATA_LABELS  # zh-TW labels of the states

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DATA_LABELS", "DATA_STATES", "data_completeness", "target_data"]

#: The states, best first.
DATA_STATES = ("complete", "partial", "none")


def _bundled() -> dict[tuple[str, str], str]:
    from .datasets import get_path

    lines = get_path("registry_completeness").read_text(encoding="utf-8").splitlines()
    return {(r["county"], r["category"]): r["data"] for r in csv.DictReader(x for x in lines if not x.startswith("#"))}


def data_completeness(county_table: pd.DataFrame, facilities: pd.DataFrame, files: list[str]) -> pd.Series:
    """The ``data`` state of each row of a county × category table.

    Parameters
    ----------
    county_table : DataFrame
        With ``county`` and ``category`` (e.g. ``CoverageReport.counties``).
    facilities : DataFrame
        The accepted facilities (``county``, ``category``) of every registry read.
    files : list of str
        The registry files read; the bundled default registry contributes its recorded completeness.

    Returns
    -------
    Series aligned to ``county_table``: ``complete``, ``partial`` or ``none``.
    """
    import pandas as pd

    from .datasets import get_path

    bundled_path = get_path("registry").resolve()
    uses_bundled = any(Path(f).resolve() == bundled_path for f in files)
    users = [f for f in files if Path(f).resolve() != bundled_path]
    recorded = _bundled() if uses_bundled else {}
    present = set(zip(facilities["county"], facilities["category"], strict=True)) if len(facilities) else set()
    user_present = present if users else set()
    if users and uses_bundled:  # a pair the user's own files have points for is theirs to vouch for
        user_fac = facilities[facilities["file"].map(lambda f: Path(str(f).split("#")[0]).name)
                              .isin({Path(u).name for u in users})] if "file" in facilities else facilities
        user_present = set(zip(user_fac["county"], user_fac["category"], strict=True))

    def state(county: str, category: str) -> str:
        if (county, category) in user_present:
            return "complete"
        if (county, category) in recorded:
            return recorded[(county, category)]
        return "none" if (county, category) not in present else "complete"

    values = [state(c, k) for c, k in zip(county_table["county"], county_table["category"], strict=True)]
    return pd.Series(values, index=county_table.index, name="data", dtype="object")


def target_data(townships: pd.DataFrame, categories, facilities: pd.DataFrame, files: list[str]) -> pd.DataFrame:
    """:func:`data_completeness` of every county × category of ``categories`` (for
    :func:`coverage.plan.compare_targets`).

    Parameters
    ----------
    townships : DataFrame
        With ``county`` (:func:`coverage.load_townships`).
    categories : iterable of str
        Programme keys.
    facilities : DataFrame
        The accepted facilities of every registry read.
    files : list of str
        The registry files read.

    Returns
    -------
    DataFrame with ``county``, ``category``, ``data``.
    """
    import pandas as pd

    counties = sorted(set(townships["county"]))
    table = pd.DataFrame([(c, k) for c in counties for k in sorted(set(categories))], columns=["county", "category"])
    table["data"] = data_completeness(table, facilities, files).to_numpy()
    return table
