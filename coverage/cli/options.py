"""Options of the ``safetynet`` command line: their Typer definitions, the bundles commands share, their checks.

A leaf of the CLI package: it imports nothing from the command modules. The option values are
resolved here before any file is read, where an error can be told apart as a usage error
(:class:`~coverage.cli.exits.OptionError`, exit 2). No pandas at import time (``safetynet
--help`` stays fast).

Options shared by several commands are defined once, in :data:`SHARED_OPTIONS`; a command lists
the ones it takes with :func:`with_options` and receives them as one :class:`RunOptions` (the
coverage run: registries, counties, population, distances …) and, for the maps, one
:class:`MapOptions`. A command that gives an option another meaning or help text (``site
--county`` is one county) declares its own parameter of that name instead.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from ..errors import InputError
from .exits import PARAMETER_FLAGS, OptionError

__all__ = [
    "ROAD_OPTIONS",
    "SHARED_OPTIONS",
    "MapOptions",
    "RunOptions",
    "check_by_road",
    "check_choice",
    "check_definition",
    "check_positive",
    "check_removals",
    "check_xy_datum",
    "given_options",
    "option",
    "parse_as_of",
    "parse_year_option",
    "resolve_additions",
    "resolve_age_group_option",
    "resolve_category_option",
    "resolve_category_options",
    "resolve_county_option",
    "resolve_county_options",
    "with_options",
]

# ----------------------------------------------------------------------------- option definitions

FacilitiesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--facilities", "-f", help="Registry file (CSV/XLSX/GeoJSON/GPKG); repeatable. Default: bundled seed registry."
    ),
]
CountyOpt = Annotated[list[str] | None, typer.Option("--county", "-c", help="County/city, e.g. 嘉義縣; repeatable.")]
CategoryOpt = Annotated[
    list[str] | None, typer.Option("--category", help="Programme, e.g. community_support_point or 小衛星; repeatable.")
]
DefinitionOpt = Annotated[
    str, typer.Option(help="presence (a facility in the township) or service-area (also its `serves` list).")
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Count facilities open on this date (ISO or ROC, e.g. 112/07/01).")
]
BoundariesOpt = Annotated[Path | None, typer.Option(help="Your own official township boundary file.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output directory.")]
LayerOpt = Annotated[
    str | None,
    typer.Option("--layer", help="Read only this sheet (XLSX) or layer (GeoPackage); default every registry sheet "
                 "and every point layer."),
]
SuppressOpt = Annotated[
    int, typer.Option("--suppress-below", min=0, help="Write caseloads from 1 to N−1 as <N (0: none).")
]
XyDatumOpt = Annotated[
    str, typer.Option("--xy-datum", help="Datum of x/y metre coordinates: TWD97 (default) or TWD67 (old registries).")
]
PublicColumnOpt = Annotated[
    list[str] | None,
    typer.Option("--public-column", help="Keep and show this personal registry column (e.g. 聯絡人); repeatable."),
]
PopulationOpt = Annotated[
    Path | None, typer.Option("--population", help="MOI population file (village or township, CSV/JSON).")
]
DemOpt = Annotated[
    list[Path] | None, typer.Option("--dem", help="Elevation raster (any GDAL format) for `mountain`; repeatable.")
]
AgeGroupOpt = Annotated[
    str, typer.Option("--age-group", help="total, children (0–17), young_children (0–11) or elderly (65+).")
]
DistanceKmOpt = Annotated[
    float, typer.Option("--distance-km", help="Straight-line distance counted as near a service.")
]
CatchmentKmOpt = Annotated[float, typer.Option("--catchment-km", help="2SFCA/E2SFCA catchment.")]
CrossSeaOpt = Annotated[bool, typer.Option("--cross-sea", help="Let a facility serve villages on another island.")]
AcrossCountiesOpt = Annotated[
    bool,
    typer.Option("--across-counties", help="Let other counties' points serve a county's people (distances, 2SFCA, "
                 "priorities, siting); default each county's own points only."),
]
MountainMOpt = Annotated[
    float, typer.Option("--mountain-m", help="Mean elevation (m) from which a township is `mountain`.")
]
LevelOpt = Annotated[
    Literal["township", "village"],
    typer.Option(help="township (fill townships) or village (villages, by their township's state)."),
]
BasemapOpt = Annotated[
    Literal["osm", "nlsc", "none"] | None,
    typer.Option(help="osm (OpenStreetMap), nlsc (通用版電子地圖) or none. Default osm; none with --offline."),
]
OfflineOpt = Annotated[
    bool,
    typer.Option("--offline", help="No network at all: no basemap by default (the JavaScript/CSS is always "
                                   "written into DIR/lib, so the maps draw without internet anyway)."),
]
PngOpt = Annotated[bool, typer.Option("--png", help="Also a static PNG figure per county (print).")]
NetworkOpt = Annotated[Path | None, typer.Option(
    "--network", help="Road network (GDAL line layer or .osm.pbf): minutes by road per village → travel_times.csv.")]
SpeedsOpt = Annotated[Path | None, typer.Option("--speeds", help="Speeds per road class: CSV class,kmh.")]
RoadClassColumnOpt = Annotated[str | None, typer.Option("--road-class-column", help="Road-class column of --network.")]
RoadLayerOpt = Annotated[str | None, typer.Option(
    "--road-layer", help="Layer of --network to read, for a file of several line layers (e.g. a GeoPackage).")]
AccessKmhOpt = Annotated[float, typer.Option(
    "--access-kmh", help="Speed (km/h) of the straight legs between a point and the road network.")]
WithinMinOpt = Annotated[float, typer.Option(
    "--within-min", help="Share of population within this many minutes by road (with --network).")]
CatchmentMinOpt = Annotated[float, typer.Option(
    "--catchment-min", help="2SFCA/E2SFCA catchment in minutes by road (with --network and --population).")]


@dataclass(frozen=True)
class RunOptions:
    """The options of a coverage run as given on the command line (``None``: not given, the default).

    Shared by ``report``, ``map`` and the planning commands; :func:`coverage.cli.run.run_arguments`
    checks them and turns them into the library's keywords. The defaults here are the flags' defaults.
    """

    facilities: list[Path] | None = None
    county: list[str] | None = None
    category: list[str] | None = None
    definition: str = "presence"
    as_of: str | None = None
    boundaries: Path | None = None
    population: Path | None = None
    dem: list[Path] | None = None
    age_group: str = "total"
    distance_km: float = 5.0
    catchment_km: float = 20.0
    cross_sea: bool = False
    across_counties: bool = False
    mountain_m: float = 500.0
    suppress_below: int = 3
    public_column: list[str] | None = None
    xy_datum: str = "TWD97"
    layer: str | None = None
    network: Path | None = None
    speeds: Path | None = None
    road_class_column: str | None = None
    road_layer: str | None = None
    access_kmh: float = 15.0
    within_min: float = 30.0
    catchment_min: float = 30.0


@dataclass(frozen=True)
class MapOptions:
    """How ``report`` and ``map`` draw the maps."""

    level: Literal["township", "village"] = "township"
    basemap: Literal["osm", "nlsc", "none"] | None = None
    offline: bool = False
    png: bool = False


#: Shared option → its Typer definition (the default is the bundle's field default).
SHARED_OPTIONS: dict[str, Any] = {
    "facilities": FacilitiesOpt, "county": CountyOpt, "category": CategoryOpt, "definition": DefinitionOpt,
    "as_of": AsOfOpt, "boundaries": BoundariesOpt, "population": PopulationOpt, "dem": DemOpt,
    "age_group": AgeGroupOpt, "distance_km": DistanceKmOpt, "catchment_km": CatchmentKmOpt, "cross_sea": CrossSeaOpt,
    "across_counties": AcrossCountiesOpt, "mountain_m": MountainMOpt, "suppress_below": SuppressOpt,
    "public_column": PublicColumnOpt, "xy_datum": XyDatumOpt, "layer": LayerOpt,
    "network": NetworkOpt, "speeds": SpeedsOpt, "road_class_column": RoadClassColumnOpt, "road_layer": RoadLayerOpt,
    "access_kmh": AccessKmhOpt,
    "within_min": WithinMinOpt, "catchment_min": CatchmentMinOpt,
    "level": LevelOpt, "basemap": BasemapOpt, "offline": OfflineOpt, "png": PngOpt,
}
_BUNDLES: tuple[type[RunOptions] | type[MapOptions], ...] = (RunOptions, MapOptions)
_FIELDS = {f.name: (bundle, f.default) for bundle in _BUNDLES for f in dataclasses.fields(bundle)}

Command = Callable[..., None]


def with_options(layout: str) -> Callable[[Command], Command]:
    """Give a command the shared options named in ``layout``, in that order among its own parameters.

    ``layout`` lists every option of the command, in the order ``--help`` shows them: a name the
    command declares itself is its own, any other one of :data:`SHARED_OPTIONS`. The command's
    parameters annotated :class:`RunOptions` / :class:`MapOptions` receive the shared values as
    one bundle each (the ones it does not take keep their defaults).

    Parameters
    ----------
    layout : str
        Parameter names separated by white space.

    Returns
    -------
    callable
        The decorator; what it returns is the function Typer registers.
    """
    names = layout.split()

    def decorate(command: Command) -> Command:
        own = inspect.signature(command, eval_str=True).parameters
        bundles = {n: p.annotation for n, p in own.items() if p.annotation in _BUNDLES}
        context = [p for p in own.values() if p.annotation is typer.Context]  # Typer's, not an option
        shared = [n for n in names if n not in own]
        unknown = [n for n in shared if n not in SHARED_OPTIONS]
        missing = [n for n in own if n not in names and n not in bundles and own[n] not in context]
        if unknown or missing:
            raise TypeError(f"{command.__name__}: layout names {unknown} unknown and leaves out {missing}")
        params = [*context, *(own[n] if n in own else inspect.Parameter(
            n, inspect.Parameter.KEYWORD_ONLY, default=_FIELDS[n][1], annotation=SHARED_OPTIONS[n]) for n in names)]
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]

        @functools.wraps(command)
        def wrapper(**given: Any) -> None:
            values = {n: given.pop(n) for n in shared}
            for name, bundle in bundles.items():
                given[name] = bundle(**{n: v for n, v in values.items() if _FIELDS[n][0] is bundle})
            command(**given)

        del wrapper.__wrapped__  # Typer reads the signature below, not the command's
        wrapper.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper

    return decorate


# ----------------------------------------------------------------------------- checks of option values


@contextmanager
def option(name: str) -> Iterator[None]:
    """Turn an InputError (or ValueError) raised while resolving the value of ``name`` into an OptionError.

    Parameters
    ----------
    name : str
        The flag, e.g. ``--as-of``.

    Yields
    ------
    None
    """
    try:
        yield
    except OptionError:
        raise
    except (InputError, ValueError) as exc:
        params = [re.escape(p + "=") for p, flag in PARAMETER_FLAGS.items() if flag == name]
        message = re.sub(rf"^(?:{'|'.join([re.escape(name), *params])})\s*:?\s*", "", str(exc))
        raise OptionError(name, message, getattr(exc, "suggestions", ())) from exc


def _closest(value: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    from ..names import name_key

    choices = list(choices)
    folded = {name_key(c): c for c in choices}
    hits = difflib.get_close_matches(name_key(value), list(folded), n=n, cutoff=cutoff)
    return [folded[h] for h in hits]


def check_choice(name: str, value: str, choices: Sequence[str], normalise: Callable[[str], str] | None = None) -> str:
    """``value`` if it is one of ``choices`` (after ``normalise``), else an :class:`OptionError` with suggestions.

    Parameters
    ----------
    name : str
        The flag.
    value : str
    choices : sequence of str
    normalise : callable, optional
        Applied to ``value`` before the comparison.

    Returns
    -------
    str
    """
    key = normalise(value) if normalise else value
    if key in choices:
        return key
    sugg = _closest(value, choices) or _closest(value.replace("_", "-"), choices)
    raise OptionError(name, f"{value!r} is not one of {', '.join(choices)}", sugg)


def check_definition(value: str) -> str:
    """The coverage definition (``--definition``): presence or service-area.

    Parameters
    ----------
    value : str

    Returns
    -------
    str
    """
    from ..measure import DEFINITIONS

    return check_choice("--definition", value, DEFINITIONS, lambda v: v.strip().lower().replace("_", "-"))


def check_xy_datum(value: str) -> str:
    """The datum of metre coordinates (``--xy-datum``): TWD97 or TWD67.

    Parameters
    ----------
    value : str

    Returns
    -------
    str
    ``value`` as given.
    """
    key = value.strip().upper().replace(" ", "")
    from ..vocabulary import XY_DATUM_SPELLINGS

    key = XY_DATUM_SPELLINGS.get(key, key)
    if key not in ("TWD97", "TWD67"):
        raise OptionError("--xy-datum", f"{value!r} is not TWD97 or TWD67", _closest(value, ("TWD97", "TWD67")))
    return value


def given_options(ctx: typer.Context) -> frozenset[str]:
    """The parameters of the running command whose value was given, not left at its default.

    Told by click's parameter source (the command line, an environment variable or a prompt; not
    the default), so that a value given equal to its default (``--within-min 30``) counts as given.

    Parameters
    ----------
    ctx : typer.Context
        The command's context (a ``ctx: typer.Context`` parameter of the command).

    Returns
    -------
    frozenset of str
        Parameter names (``within_min``).
    """
    def given(name: str) -> bool:
        source = ctx.get_parameter_source(name)
        return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

    return frozenset(n for n in ctx.params if given(n))


#: Parameters that only mean something by road, in the order the error looks for them (``--radius-min`` of
#: ``site`` has its own message).
ROAD_OPTIONS = ("within_min", "catchment_min", "speeds", "road_class_column", "road_layer", "access_kmh")


def check_by_road(network: Path | None, given: Collection[str], names: Iterable[str] = ROAD_OPTIONS) -> None:
    """Options about minutes by road given without ``--network``: a usage error (exit 2).

    Without a road network no figure is in minutes: a run that ignored ``--within-min`` would look
    complete. The error names the first such option and ``--network``.

    Parameters
    ----------
    network : Path, optional
        The value of ``--network``; given, nothing is checked.
    given : collection of str
        The parameters given (:func:`given_options`).
    names : iterable of str
        Parameter names of the road options (default :data:`ROAD_OPTIONS`; a command's ``given`` holds
        only its own parameters, so every command can check them all).
    """
    if network is not None:
        return
    for name in names:
        if name in given:
            flag = "--" + name.replace("_", "-")
            raise OptionError(flag, "needs --network FILE (without a road network no figure is in minutes)")


def check_positive(name: str, value: float | None, *, allow_zero: bool = False) -> None:
    """A distance, count or time limit must be a positive finite number.

    Parameters
    ----------
    name : str
        The flag.
    value : float, optional
        None: not given, nothing to check.
    allow_zero : bool
    """
    import math

    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise OptionError(name, f"must be a positive number, got {value:g}")


def parse_as_of(value: str | None) -> Any:
    """``--as-of`` (ISO or ROC date) as a Timestamp, or None for today.

    Parameters
    ----------
    value : str, optional

    Returns
    -------
    pandas.Timestamp or None
    """
    if value is None:
        return None
    from ..facilities import parse_date

    hint = "expected a date such as 2023-07-01, 2023/7/1 or ROC 112/07/01"
    with option("--as-of"):
        when = parse_date(value)
    if when is None:
        raise OptionError("--as-of", f"{value!r} is not a date; {hint}")
    return when


def parse_year_option(name: str, value: str) -> int:
    """``--from``/``--to``: a western (2019) or ROC (108) year.

    Parameters
    ----------
    name : str
        The flag.
    value : str

    Returns
    -------
    int
    """
    from ..plan import parse_year

    with option(name):
        return parse_year(value)


def resolve_county_options(names: Sequence[str] | None, townships: Any) -> list[str] | None:
    """Official names for ``--county`` values (``台中`` → ``臺中市``); None means all counties.

    Parameters
    ----------
    names : sequence of str, optional
    townships : GeoDataFrame

    Returns
    -------
    list of str or None
    """
    if not names:
        return None
    return list(dict.fromkeys(resolve_county_option(n, townships) for n in names))


def resolve_county_option(name: str, townships: Any) -> str:
    """The official name of one ``--county`` value, or an :class:`OptionError` with the closest counties.

    Parameters
    ----------
    name : str
    townships : GeoDataFrame

    Returns
    -------
    str
    """
    from ..names import resolve_county

    try:
        return resolve_county(name, townships=townships)
    except InputError as exc:
        counties = list(dict.fromkeys(townships["county"]))
        sugg = list(getattr(exc, "suggestions", ())) or _closest(name, counties, cutoff=0.3)
        known = "" if sugg else f" (counties: {'、'.join(counties)})"
        raise OptionError("--county", f"no county or city named {name!r}{known}", sugg) from exc


def resolve_age_group_option(name: str) -> str:
    """Key of the age group for ``--age-group`` (``兒少`` → ``children``).

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    from ..population import AGE_GROUPS, resolve_age_group

    try:
        return resolve_age_group(name)
    except InputError as exc:
        choices = ", ".join(f"{k} ({v[2]})" for k, v in AGE_GROUPS.items())
        raise OptionError("--age-group", f"unknown age group {name!r}; choose one of {choices}",
                          _closest(name, AGE_GROUPS)) from exc


# ----------------------------------------------------------------------------- programmes


def resolve_category_options(
    names: Sequence[str] | None, present: Collection[str], *, name: str = "--category"
) -> list[str] | None:
    """Category keys for ``--category`` values; None means every programme.

    A name is one of the four programmes in any of its common spellings, or a custom
    programme that the registry has (``少年服務方案``). Anything else is an
    :class:`OptionError` naming the closest programmes (``小衛`` → 小衛星): counting a
    programme that no row has would report 0 % coverage everywhere.

    Parameters
    ----------
    names : sequence of str, optional
    present : collection of str
        The categories the registry has (custom programmes among them).
    name : str
        The flag named in errors.

    Returns
    -------
    list of str or None
    """
    if not names:
        return None
    return list(dict.fromkeys(resolve_category_option(n, present, name=name) for n in names))


def resolve_category_option(text: str, present: Collection[str], *, name: str = "--category") -> str:
    """The programme key of one ``--category`` value (see :func:`resolve_category_options`).

    Parameters
    ----------
    text : str
    present : collection of str
        The categories the registry has.
    name : str
        The flag named in errors.

    Returns
    -------
    str
    """
    from ..programmes import PROGRAMMES, resolve_programme

    if not str(text).strip():
        raise OptionError(name, "empty programme name")
    customs = sorted({c for c in present if isinstance(c, str) and c and c not in PROGRAMMES})
    try:
        return resolve_programme(text, custom=customs)
    except InputError as exc:
        near_custom = _closest(text, customs)
        if not near_custom:
            raise OptionError(name, str(exc), getattr(exc, "suggestions", ())) from exc
        # a near miss of a custom programme the registry has: that is the likeliest meaning
        known = "、".join(PROGRAMMES)
        raise OptionError(name, f"programme '{str(text).strip()}' not found (programmes: {known}; custom: "
                                f"{'、'.join(customs)})", near_custom) from exc


def resolve_additions(adds: Sequence[str], townships: Any, present: Collection[str], *, name: str = "--add"
                      ) -> list[str]:
    """``--add 縣市鄉鎮市區:programme`` values with their township and programme checked; programme keys filled in.

    Parameters
    ----------
    adds : sequence of str
    townships : GeoDataFrame
    present : collection of str
        The categories the registry has.
    name : str
        The flag (or scenario column) named in errors.

    Returns
    -------
    list of str
    """
    from ..names import resolve_township

    out = []
    for text in adds:
        place, sep, category = str(text).rpartition(":")
        if not sep or not place.strip() or not category.strip():
            raise OptionError(name, f"{text!r}: expected 縣市鄉鎮市區:programme, e.g. 嘉義縣阿里山鄉:小衛星")
        with option(name):
            resolve_township(place, townships=townships)
        key = resolve_category_option(category, present, name=name)
        out.append(f"{place}:{key}")
    return out


def check_removals(removes: Sequence[str], facility_names: Iterable[str], *, name: str = "--remove") -> None:
    """Every ``--remove`` name must name a facility of the registry.

    Parameters
    ----------
    removes : sequence of str
    facility_names : iterable of str
    name : str
        The flag (or scenario column) named in errors.
    """
    from ..names import normalise_name

    names = {normalise_name(n): n for n in facility_names if isinstance(n, str)}
    for text in removes:
        if normalise_name(text) not in names:
            raise OptionError(name, f"no facility is named {text!r}", _closest(text, names.values()))

