"""One rejection collector for every reader: registries, population, targets and scenarios.

A rejected input row is data, never dropped: each rejection line names the ``file``, the ``row`` as
numbered in that file, the ``field``, the ``value`` (withheld where it could be personal) and the
``reason``. Every reader reports ``rows_read == accepted + rejected rows``, where a row with several
problems has several lines but counts once (:func:`rejected_rows`).

A value that must not be shown — a cell of a row whose cells may have shifted (so any of them may be
a contact's name), a caseload — is written as :data:`WITHHELD`, and the reason does not quote it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = ["REJECTED_COLUMNS", "WITHHELD", "Rejections", "empty_rejections", "rejected_rows"]

REJECTED_COLUMNS = ["file", "row", "field", "value", "reason"]
#: Written in the ``value`` of a rejection in place of a cell that must not be shown.
WITHHELD = "(withheld)"


def empty_rejections() -> pd.DataFrame:
    """A rejection table with no lines and the standard columns and dtypes.

    Returns
    -------
    DataFrame
        Columns :data:`REJECTED_COLUMNS`; ``row`` is int64, the others str.
    """
    import pandas as pd

    return pd.DataFrame({c: pd.Series([], dtype="int64" if c == "row" else "str") for c in REJECTED_COLUMNS})


def rejected_rows(table: pd.DataFrame) -> int:
    """How many distinct input rows a rejection table names (a row with three problems counts once).

    Parameters
    ----------
    table : DataFrame
        A rejection table with ``file`` and ``row`` columns.

    Returns
    -------
    int
        The number of distinct (file, row) pairs.
    """
    if not len(table):
        return 0
    return int(table[["file", "row"]].drop_duplicates().shape[0])


class Rejections:
    """Collects rejection lines as (position, field, value, reason) for the whole table."""

    def __init__(self, n: int) -> None:
        import numpy as np

        self.parts: list[pd.DataFrame] = []
        self.bad = np.zeros(n, dtype=bool)

    def add(self, mask: np.ndarray, field: Any, value: Any, reason: Any) -> None:
        """Reject the rows of ``mask``; each of field/value/reason is a scalar, an array
        aligned to the table, or a function of the rejected positions returning a list."""
        import numpy as np
        import pandas as pd

        pos = np.flatnonzero(mask)
        if not len(pos):
            return

        def pick(v: Any) -> Any:
            if callable(v):
                return v(pos)
            if not np.ndim(v):
                return v
            # the rejected positions only: a Categorical or an Arrow column is not turned whole into objects
            return np.asarray(v.take(pos) if hasattr(v, "take") else np.asarray(v, dtype=object)[pos], dtype=object)

        self.parts.append(pd.DataFrame(
            {"_pos": pos, "field": pick(field), "value": pick(value), "reason": pick(reason)}
        ))
        self.bad[pos] = True

    def table(self, t: pd.DataFrame, withhold: np.ndarray | None = None, reason: Any = "") -> pd.DataFrame:
        """The rejection table, in table order.

        The lines of each ``withhold`` row become one line, field ``row``, value :data:`WITHHELD` and
        ``reason`` (a scalar, or a function of the withheld positions returning a list).
        """
        import numpy as np
        import pandas as pd

        if withhold is not None and withhold.any():
            pos = np.flatnonzero(withhold)
            self.parts = [p[~withhold[p["_pos"].to_numpy()]] for p in self.parts]
            self.parts.append(pd.DataFrame({"_pos": pos, "field": "row", "value": WITHHELD,
                                            "reason": reason(pos) if callable(reason) else reason}))
        if not self.parts:
            return empty_rejections()
        lines = pd.concat(self.parts, ignore_index=True).sort_values("_pos", kind="stable")
        pos = lines["_pos"].to_numpy()
        out = pd.DataFrame({
            "file": np.asarray(t["file"].array.take(pos), dtype=object),  # not the whole column as objects
            "row": t["row"].to_numpy()[pos].astype("int64"),
            "field": lines["field"].astype("str").to_numpy(),
            "value": lines["value"].astype("str").to_numpy(),
            "reason": lines["reason"].astype("str").to_numpy(),
        })
        return out.astype({c: "str" for c in REJECTED_COLUMNS if c != "row"})
