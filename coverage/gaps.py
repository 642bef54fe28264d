"""Coverage gaps: uncovered townships with their classification flags.

Gaps that sit in hard-to-reach places (mountain indigenous, island, coastal, county-declared
remote, plain indigenous) are listed first: they are the ones planners must justify or
staff differently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["flag_gaps", "flag_labels"]


def flag_labels(row_flags: pd.DataFrame) -> pd.Series:
    """zh-TW label string (``山地原住民鄉、縣定偏遠``) of the true flags of each row.

    Parameters
    ----------
    row_flags : DataFrame
        Boolean flag columns (any of :data:`coverage.vocabulary.FLAG_LABELS`'s keys).

    Returns
    -------
    Series of str
        The zh-TW labels of the true flags of each row, joined by 、 (``""`` when none), aligned
        to ``row_flags``.
    """
    import pandas as pd

    from .vocabulary import FLAG_LABELS

    cols = [f for f in FLAG_LABELS if f in row_flags]
    values = row_flags[cols].fillna(False).astype(bool).to_numpy()
    text = ["、".join(FLAG_LABELS[c] for c, on in zip(cols, row, strict=True) if on) for row in values]
    return pd.Series(text, index=row_flags.index, dtype=object)


def flag_gaps(township_table: pd.DataFrame) -> pd.DataFrame:
    """Every uncovered township × category, flagged gaps first.

    Parameters
    ----------
    township_table : DataFrame
        From :func:`coverage.township_coverage`.

    Returns
    -------
    DataFrame with ``county, category, towncode, township``, the flag columns,
    ``flagged`` (any flag set), ``flags`` (zh-TW labels) and ``planned`` (count of
    facilities planned there), ordered by county (MOI order), category (programme order), flagged first,
    then township code.
    """
    from .geography import FLAGS, county_rank
    from .measure import category_rank

    flags = [f for f in FLAGS if f in township_table]
    gaps = township_table[~township_table["covered"]].copy()
    gaps["flagged"] = gaps[flags].any(axis=1) if flags else False
    gaps["flags"] = flag_labels(gaps)
    gaps["_rank"] = county_rank(gaps["county"])
    gaps["_cat"] = category_rank(gaps["category"])
    gaps = gaps.sort_values(["_rank", "_cat", "flagged", "towncode"], ascending=[True, True, False, True])
    cols = ["county", "category", "towncode", "township", *flags, "flagged", "flags", "planned"]
    return gaps[cols].reset_index(drop=True)
