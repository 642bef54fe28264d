"""One coverage run from the command line's options: checked once, passed to the library pipeline.

``report``, ``map`` and the planning commands receive their shared options as one
:class:`~coverage.cli.options.RunOptions`; :func:`checked_keywords` checks them (usage errors,
exit 2, before any registry is read) and :func:`pipeline_keywords` turns them into the keywords
of :func:`coverage.run_coverage`. Also what a run records in its manifest.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .exits import OptionError
from .options import (
    RunOptions,
    check_by_road,
    check_definition,
    check_positive,
    check_xy_datum,
    parse_as_of,
    resolve_age_group_option,
    resolve_category_options,
    resolve_county_options,
)

if TYPE_CHECKING:  # pragma: no cover
    from .. import CoverageReport

__all__ = [
    "check_by_population",
    "check_categories",
    "check_minutes_measured",
    "checked_keywords",
    "command_record",
    "input_files",
    "pipeline_keywords",
]

#: The road options (:data:`coverage.cli.options.ROAD_OPTIONS`) that are figures about people: they need
#: ``--population`` (at village level) too.
PEOPLE_MINUTE_OPTIONS = ("within_min", "catchment_min")
#: Options that only the figures about people use (``--population``), in the order the error looks for them.
PEOPLE_OPTIONS = ("age_group", "distance_km", "catchment_km", "cross_sea")
#: Options that only the elevation figures use (``--dem``).
DEM_OPTIONS = ("mountain_m",)


def pipeline_keywords(opts: RunOptions, **resolved: Any) -> dict[str, Any]:
    """The keywords of :func:`coverage.run_coverage` for ``opts``, with resolved values in place.

    Parameters
    ----------
    opts : RunOptions
        The options as given.
    **resolved
        Keywords that replace the given values, e.g. ``counties=['臺中市']`` or ``as_of=Timestamp(…)``.

    Returns
    -------
    dict
    """
    keywords = {
        "facilities": opts.facilities, "counties": opts.county, "categories": opts.category,
        "definition": opts.definition, "as_of": opts.as_of, "boundaries": opts.boundaries,
        "population": opts.population, "dem": opts.dem, "age_group": opts.age_group,
        "distance_km": opts.distance_km, "catchment_km": opts.catchment_km, "cross_sea": opts.cross_sea,
        "mountain_m": opts.mountain_m, "suppress_below": opts.suppress_below,
        "public_columns": opts.public_column or (), "xy_datum": opts.xy_datum, "layer": opts.layer,
        "across_counties": opts.across_counties, "network": opts.network, "speeds": opts.speeds,
        "road_class_column": opts.road_class_column, "road_layer": opts.road_layer, "access_kmh": opts.access_kmh,
        "within_min": opts.within_min, "catchment_min": opts.catchment_min,
    }
    return {**keywords, **resolved}


def checked_keywords(opts: RunOptions, given: Collection[str] = ()) -> dict[str, Any]:
    """:func:`pipeline_keywords` after checking every value, before any file but the boundaries is read.

    Parameters
    ----------
    opts : RunOptions
    given : collection of str
        The options given, not left at their default (:func:`~coverage.cli.options.given_options`):
        an option in minutes by road given without ``--network`` (or, for the figures about people,
        without ``--population``) is refused, not ignored.

    Returns
    -------
    dict
        With the date, county names and definition resolved.

    Raises
    ------
    OptionError
        A value that means nothing (exit 2); a bad ``--boundaries`` file is an input error.
    """
    from ..geography import load_townships

    when = parse_as_of(opts.as_of)
    definition = check_definition(opts.definition)
    resolve_age_group_option(opts.age_group)
    check_xy_datum(opts.xy_datum)
    check_positive("--distance-km", opts.distance_km)
    check_positive("--access-kmh", opts.access_kmh)
    check_positive("--catchment-km", opts.catchment_km)
    check_positive("--within-min", opts.within_min)
    check_positive("--catchment-min", opts.catchment_min)
    check_by_road(opts.network, given)
    check_by_population(opts, given)
    counties = resolve_county_options(opts.county, load_townships(opts.boundaries))
    return pipeline_keywords(opts, as_of=when, counties=counties, definition=definition)


def check_by_population(opts: RunOptions, given: Collection[str]) -> None:
    """Options that only figures about people (or elevation) use, given without their file: a usage error.

    ``--age-group``, ``--distance-km``, ``--catchment-km`` and ``--cross-sea`` shape only the
    figures about people, so without ``--population`` nothing reads them; ``--within-min`` and
    ``--catchment-min`` are shares of people by road; ``--mountain-m`` is the threshold of the
    ``--dem`` figures. A run that ignored one of them would look as if it had been applied.

    Parameters
    ----------
    opts : RunOptions
    given : collection of str
        The options given (:func:`~coverage.cli.options.given_options`).

    Raises
    ------
    OptionError
        The first such option given without the file it needs (exit 2).
    """
    if opts.population is None:
        if opts.network is not None:
            for name in (n for n in PEOPLE_MINUTE_OPTIONS if n in given):
                raise OptionError(_flag(name), "needs --population FILE (people per village): it measures people "
                                  "within minutes by road, and without a population file no figure uses it")
        for name in (n for n in PEOPLE_OPTIONS if n in given):
            raise OptionError(_flag(name), "needs --population FILE: only the figures about people use it, and "
                              "without a population file it would be left unused")
    if not opts.dem:
        for name in (n for n in DEM_OPTIONS if n in given):
            raise OptionError(_flag(name), "needs --dem FILE: it is the elevation threshold of the terrain figures, "
                              "and without an elevation raster it would be left unused")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_minutes_measured(opts: RunOptions, result: CoverageReport, given: Collection[str]) -> None:
    """The minutes asked for were measured: ``--within-min``/``--catchment-min`` need people per village.

    With a township-level ``--population`` file the road figures stop at the villages' minutes
    (no share of people within minutes, no 2SFCA in minutes); an explicit ``--within-min`` or
    ``--catchment-min`` is then refused (input error, exit 1) rather than silently left unused.

    Parameters
    ----------
    opts : RunOptions
    result : CoverageReport
        The run of ``opts``.
    given : collection of str
        The options given (:func:`~coverage.cli.options.given_options`).

    Raises
    ------
    InputError
        The population file is not at village level.
    """
    if opts.network is None or result.population is None or result.population.level == "village":
        return
    asked = [n for n in PEOPLE_MINUTE_OPTIONS if n in given]
    if asked:
        from ..errors import InputError

        flag = "--" + asked[0].replace("_", "-")
        raise InputError(f"{flag}: minutes by road are counted per village, and {Path(opts.population or '').name} "
                         f"is a {result.population.level}-level population file: give one with people per "
                         f"village (or leave {flag} out)")


def check_categories(category: list[str] | None, result: CoverageReport) -> None:
    """``--category`` names a programme the registry read by ``result`` can have (else exit 2).

    Parameters
    ----------
    category : list of str, optional
    result : CoverageReport
    """
    resolve_category_options(category, set(result.registry.facilities["category"]))


def command_record(ctx: typer.Context) -> dict[str, Any]:
    """The command and its options as given (``--out`` left out: the manifest is the same wherever written).

    Parameters
    ----------
    ctx : typer.Context

    Returns
    -------
    dict
        ``{"name": …, "options": {…}}``, paths as text.
    """

    def plain(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return str(value) if isinstance(value, Path) else value

    return {"name": ctx.info_name, "options": {k: plain(v) for k, v in sorted(ctx.params.items()) if k != "out"}}


def input_files(result: CoverageReport, opts: RunOptions, *more: Path | None) -> list[Any]:
    """Input files of a run, for its manifest: the registries read (bundled when none was given) and the rest.

    Parameters
    ----------
    result : CoverageReport
    opts : RunOptions
    *more : path or None
        Other files the command read (``--targets``).

    Returns
    -------
    list
    """
    given: Iterable[Path | None] = (opts.population, *(opts.dem or []), opts.boundaries, *more)
    return [*result.files, *(p for p in given if p is not None)]
