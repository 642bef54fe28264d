"""What surrounds a siting run: its people per village, how complete its registry is, the files it writes.

:func:`coverage.siting.site_new_points` finds the sites. This module reads the people it weighs from
an MOI population file (:func:`village_population`), records how complete the registry behind its
"before" figures is (:func:`record_data_state`: ``complete``, ``partial`` or ``none``, from the
coverage report of the same run, with the note a planner must read when the data are not complete)
and writes ``sites.csv``, ``sites.json`` and the siting map (:func:`write_siting`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .pipeline import CoverageReport
    from .siting import SitingPlan

__all__ = ["SITING_OBJECTIVES", "record_data_state", "village_population", "write_siting"]

#: The objectives of :func:`coverage.siting.site_new_points`, as ``site --objective`` lists them.
SITING_OBJECTIVES = ("townships", "population", "children")

#: What a siting run on incomplete data means, after ``DATA_LABELS[state]`` (the parameter ``facilities=`` is
#: named as such: the command line shows its flag).
_DATA_NOTES = {
    "partial": "partial data: the registry lists only some of this programme's points in the county, so 'before' "
               "is a floor and a recommended site may duplicate an unlisted point; give the county's complete "
               "registry with facilities=",
    "none": "no data: no registry read has a point of this programme in the county; sited as if there were none "
            "— give the county's registry with facilities= if it has points",
}


def village_population(path: str | Path, *, objective: str = "population") -> pd.Series:
    """People per village of a population file, in the age group a siting objective weighs.

    Parameters
    ----------
    path : str or Path
        An MOI population file at village level (:func:`coverage.read_population`).
    objective : {"population", "children", "townships"}
        ``children`` weighs the children (0–17); the others everyone (``townships`` uses people
        only to break ties).

    Returns
    -------
    Series
        People per village, indexed by ``villcode`` (as ``population=`` of
        :func:`coverage.siting.site_new_points` takes them).

    Raises
    ------
    InputError
        An unknown ``objective``; a file that cannot be read, is at township level, or lacks the
        age group (the message names the file).
    """
    from .errors import InputError
    from .population import read_population, require_group

    if objective not in SITING_OBJECTIVES:
        raise InputError(f"objective={objective!r}: expected one of {', '.join(SITING_OBJECTIVES)}")
    path = Path(path)
    pop = read_population(path)
    if pop.level != "village":
        raise InputError(f"{path.name}: siting needs people per village; this is a {pop.level}-level file "
                         f"({pop.layout})")
    column = "children" if objective == "children" else "total"
    require_group(pop, column)
    return pop.villages.set_index("villcode")[column]


def record_data_state(plan: SitingPlan, report: CoverageReport) -> str | None:
    """Record in ``plan.summary["data"]`` how complete the registry behind the plan's county × programme is.

    The state is the ``data`` column of ``report.counties`` (:mod:`coverage.completeness`) for the
    plan's ``county`` and ``category``; ``complete`` when the report has no such row.

    Parameters
    ----------
    plan : SitingPlan
        From :func:`coverage.siting.site_new_points`; its summary gains ``data``.
    report : CoverageReport
        The coverage of the same registries (the siting's "before").

    Returns
    -------
    str or None
        What a ``partial`` or ``none`` state means for the sites (a note to show beside them);
        None when the data are complete.
    """
    from .vocabulary import DATA_LABELS

    county, category = plan.summary["county"], plan.summary["category"]
    counties = report.counties
    rows = counties[(counties["county"] == county) & (counties["category"] == category)]
    state = str(rows["data"].iloc[0]) if len(rows) and "data" in rows else "complete"
    plan.summary["data"] = state
    return None if state == "complete" else f"{DATA_LABELS[state]} {_DATA_NOTES[state]}"


def write_siting(report: CoverageReport, plan: SitingPlan, out: str | Path, *, site_map: bool = True,
                 offline: bool = False) -> list[Path]:
    """Write ``sites.csv``, ``sites.json`` and (with ``site_map``) the map ``sites_<county>_<category>.html``.

    Each file is written atomically (:func:`coverage.report.atomic_open`).

    Parameters
    ----------
    report : CoverageReport
        The county's coverage now (the map's 現況).
    plan : SitingPlan
        From :func:`coverage.siting.site_new_points`.
    out : str or Path
        Output folder.
    site_map : bool
        Also write the siting map (:func:`coverage.maps.write_site_map`).
    offline : bool
        The map's JavaScript/CSS into ``out/lib`` and no basemap.

    Returns
    -------
    list of Path
        The files written, in that order.

    Raises
    ------
    OutputError
        A file cannot be written.
    """
    import json

    from .report import atomic_open, write_csv

    out = Path(out)
    written = [write_csv(plan.sites, out / "sites.csv")]
    with atomic_open(out / "sites.json") as fh:
        json.dump({"summary": plan.summary, "sites": plan.sites.to_dict("records")}, fh, ensure_ascii=False,
                  indent=2, default=str)
    written.append(out / "sites.json")
    if site_map:
        from .maps import write_site_map

        written.append(write_site_map(report, plan, out, offline=offline))
    return written
