"""Write coverage results: CSV tables and a machine-readable JSON summary, and how every output is written.

Every write is atomic (:func:`atomic_open`: a temporary part in the same directory, then
``os.replace``), so an interrupted run never leaves a half-written table, and a write that fails
(disk full, no permission, read-only folder) raises :class:`coverage.errors.OutputError` naming the
file, with nothing partial left. A temporary part carries its process id in its name
(``.coverage.csv.4711-k2j4.part``): each run's parts are its own, and a run removes only the parts
of processes that are no longer alive (or parts untouched for a day, :data:`STALE_PART_HOURS`), so
two runs into one folder never break each other. The first write into a folder removes such stale
parts, whatever the command.

:func:`output_run` groups the writes of one run: it writes ``manifest.json`` (each file with size
and sha256, the inputs with theirs, the command, the version; no timestamps, so identical runs give
identical manifests) and removes the files a previous run's manifest listed that this run did not
rewrite, so a folder never mixes two runs.

Text cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or carriage
return) are neutralised with a leading apostrophe. Caseloads below the report's ``suppress_below``
are written as ``"<3"`` (:mod:`coverage.privacy`).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import OutputError
from .rejections import REJECTED_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .pipeline import CoverageReport

__all__ = [
    "COVERAGE_COLUMNS",
    "MANIFEST_FILE",
    "STALE_PART_HOURS",
    "atomic_open",
    "file_digest",
    "neutralise",
    "neutralise_frame",
    "output_run",
    "record_output",
    "remove_stale_parts",
    "write_csv",
    "write_report",
]

log = logging.getLogger(__name__)

COVERAGE_COLUMNS = ["county", "category", "covered", "total", "rate", "missing", "data"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MANIFEST_FILE = "manifest.json"
#: A temporary part untouched for this long is stale even if a process with its id is alive
#: (the id may have been reused); parts of dead processes are stale at once.
STALE_PART_HOURS = 24.0
_PART = re.compile(r"^\..+\.(\d+)-[^.]*\.part$")
# Runs in progress in this context (output directory → files written), see output_run.
_RUNS: contextvars.ContextVar[dict[Path, dict[str, dict]] | None] = contextvars.ContextVar("_RUNS", default=None)
_CLEANED: set[Path] = set()
_MAX_MANIFEST_BYTES = 64 << 20  # a manifest lists a few hundred files; anything far larger is not ours
_CLEANED_LOCK = threading.Lock()


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open ``path`` for writing through a temporary sibling that replaces it on success.

    Parameters
    ----------
    path : str or Path
        The file to write.
    mode : str
        ``"w"`` (text) or ``"wb"`` (bytes).
    encoding : str or None
        Text encoding (ignored for ``"wb"``).

    Yields
    ------
    file object
        Open on the temporary sibling, which replaces ``path`` when the block ends without error.

    Raises
    ------
    OutputError
        When the file cannot be written (disk full, permission, read-only folder); the message
        names ``path`` and no temporary part is left.
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _clean_once(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=".part")
        # mkstemp makes the file private (0600); the result gets the permissions of the file
        # it replaces, or those of any new file (umask), so a map put on a web server is readable
        try:
            mode_bits = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode_bits = 0o666 & ~_umask()
        Path(tmp).chmod(mode_bits)
        text = "b" not in mode
        with os.fdopen(fd, mode, encoding=encoding if text else None, newline="" if text else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _record(path, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(path, _reason(exc)) from exc
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str | None) -> None:
    if tmp is not None:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_digest(path: str | Path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MB blocks.

    Parameters
    ----------
    path : str or Path
        A file.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # no signal 0 elsewhere: rely on the age threshold alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return False
    return True


def remove_stale_parts(out_dir: str | Path, *, max_age_hours: float = STALE_PART_HOURS) -> list[Path]:
    """Delete the temporary ``.<name>.<pid>-….part`` files that killed earlier runs left in ``out_dir``.

    A part is stale when the process whose id is in its name is no longer alive, or when it has
    not been modified for ``max_age_hours`` (a process id can be reused). Parts of live runs,
    including those of other runs writing into the same folder, are kept. Parts without a process
    id (written by versions before 0.2) are stale.

    Parameters
    ----------
    out_dir : str or Path
        The output folder.
    max_age_hours : float
        A part not modified for this long is stale whatever its process id.

    Returns
    -------
    list of Path
        The parts removed.
    """
    removed: list[Path] = []
    now = time.time()
    try:
        candidates = sorted(Path(out_dir).glob(".*.part"))
    except OSError:
        return removed
    for part in candidates:
        match = _PART.match(part.name)
        try:
            age_h = (now - part.stat().st_mtime) / 3600
        except OSError:
            continue
        if match and _pid_alive(int(match.group(1))) and age_h < max_age_hours:
            continue
        with contextlib.suppress(FileNotFoundError, PermissionError):
            part.unlink()
            removed.append(part)
            log.info("removed %s, left by an interrupted run", part)
    return removed


def _clean_once(directory: Path) -> None:
    """Remove stale parts from ``directory`` on this process's first write there."""
    key = directory.resolve()
    with _CLEANED_LOCK:
        if key in _CLEANED:
            return
        _CLEANED.add(key)
    remove_stale_parts(directory)


def _record(path: Path, tmp: str) -> None:
    """Note ``path`` (about to be replaced by ``tmp``) in the output run writing into its folder."""
    runs = _RUNS.get()
    if not runs:
        return
    target = path.parent.resolve() / path.name
    for root, files in runs.items():
        if target.is_relative_to(root):
            name = target.relative_to(root).as_posix()
            if name != MANIFEST_FILE:
                files[name] = {"path": name, "size": Path(tmp).stat().st_size, "sha256": file_digest(tmp)}
            return


def record_output(path: str | Path) -> Path:
    """List a file another process wrote (atomically) in the output run writing into its folder, if any.

    :func:`atomic_open` lists what this process writes; a file written by a worker process
    (:func:`coverage.maps.static.county_figures`) is listed here once it is complete, with its size
    and sha256 as it is now.

    Parameters
    ----------
    path : str or Path
        The file, complete.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    _record(path, str(path))
    return path


def _input_entry(path: str | Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": str(path)}
    with contextlib.suppress(OSError):
        if Path(path).is_file():
            entry.update(size=Path(path).stat().st_size, sha256=file_digest(path))
    return entry


@contextlib.contextmanager
def output_run(
    out_dir: str | Path,
    *,
    command: dict[str, Any] | None = None,
    inputs: Iterable[str | Path] = (),
) -> Iterator[dict[str, dict]]:
    """Group the writes of one run into ``out_dir``; on leaving, write ``manifest.json`` and prune.

    Every file written with :func:`atomic_open` under ``out_dir`` inside the block is listed in
    ``manifest.json`` with its size and sha256, with ``command`` (name and options, as given) and
    each of ``inputs`` (path, size, sha256). Files the previous manifest listed that this run did
    not rewrite are removed, if they are still what that run wrote (a file changed since is kept,
    with a warning). Stale temporary parts (:func:`remove_stale_parts`) are removed first. A run
    that fails still writes its manifest, with ``"complete": false``, and prunes, so the folder
    never mixes two runs. A block inside another on the same folder joins it.

    Parameters
    ----------
    out_dir : str or Path
        The output folder (created when missing).
    command : dict, optional
        The command's name and options, recorded in the manifest.
    inputs : iterable of path
        The input files, recorded with their size and sha256.

    Yields
    ------
    dict
        Relative file name → manifest entry of each file written so far.

    Raises
    ------
    OutputError
        ``out_dir`` or the manifest cannot be written; the message names the file.
    """
    root = Path(out_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(root, _reason(exc)) from exc
    root = root.resolve()
    runs = _RUNS.get() or {}
    if root in runs:
        yield runs[root]
        return
    for sub in (root, *(d for d in root.iterdir() if d.is_dir() and not d.is_symlink())):
        remove_stale_parts(sub)
    files: dict[str, dict] = {}
    token = _RUNS.set({**runs, root: files})
    entries = [_input_entry(p) for p in inputs]
    complete = False
    try:
        yield files
        complete = True
    finally:
        _RUNS.reset(token)
        try:
            _finish_run(root, files, command=command, inputs=entries, complete=complete)
        except OSError as exc:
            if complete and isinstance(exc, OutputError):
                raise
            if complete:
                raise OutputError(root / MANIFEST_FILE, _reason(exc)) from exc
            log.warning("could not write %s after the failed run", root / MANIFEST_FILE)


@contextlib.contextmanager
def _folder_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on the folder itself (POSIX flock on its descriptor; none elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _previous_files(root: Path) -> list[dict]:
    """The ``files`` of the folder's manifest, or none (missing or unreadable: a warning)."""
    path = root / MANIFEST_FILE
    try:
        if path.stat().st_size > _MAX_MANIFEST_BYTES:
            raise ValueError("too large")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("ignored %s: not a manifest this tool wrote (%s)", path, type(exc).__name__)
        return []
    files = data.get("files") if isinstance(data, dict) else None
    return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []


def _prune(root: Path, previous: list[dict], written: dict[str, dict]) -> None:
    """Remove the previous run's files that this run did not rewrite (only if still unchanged)."""
    for entry in previous:
        name, digest = entry.get("path"), entry.get("sha256")
        if not isinstance(name, str) or name in written or name == MANIFEST_FILE:
            continue
        try:
            path = (root / name).resolve()
            if not path.is_relative_to(root) or path == root or not path.is_file():
                continue
        except (OSError, ValueError):  # a NUL byte, a loop of links: not a file this tool wrote
            continue
        try:
            unchanged = file_digest(path) == digest
            if unchanged:
                path.unlink()
                log.info("removed %s, written by a previous run and not by this one", path)
            else:
                log.warning("kept %s: a previous run wrote it, but it has changed since", path)
        except OSError as exc:
            raise OutputError(path, f"cannot remove the previous run's file ({_reason(exc)})") from exc
        parent = path.parent
        while parent != root and parent.is_relative_to(root):
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
            parent = parent.parent


def _finish_run(root: Path, written: dict[str, dict], *, command: dict[str, Any] | None, inputs: list[dict],
                complete: bool) -> None:
    from . import __version__

    with _folder_lock(root):
        _prune(root, _previous_files(root), written)
        files = []
        for name in sorted(written):
            entry = written[name]
            path = root / name
            if not path.is_file():
                log.warning("%s was removed by another run writing into the same folder", path)
                continue
            digest = file_digest(path)
            if digest != entry["sha256"]:
                log.warning("%s was rewritten by another run writing into the same folder", path)
                entry = {"path": name, "size": path.stat().st_size, "sha256": digest}
            files.append(entry)
        manifest = {
            "tool": {"name": "safetynet-coverage", "version": __version__},
            "command": command or {},
            "complete": complete,
            "inputs": inputs,
            "files": files,
        }
        with atomic_open(root / MANIFEST_FILE) as fh:
            json.dump(manifest, fh, ensure_ascii=False, indent=2)
            fh.write("\n")


def neutralise(value: object) -> object:
    """Make a text cell inert in spreadsheets: ``=SUM(A1)`` → ``'=SUM(A1)``.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    object
        ``value`` with ``'`` prepended when it is text starting with ``= + - @``, a tab or a
        carriage return; anything else unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with every text cell passed through :func:`neutralise`.

    Parameters
    ----------
    frame : DataFrame

    Returns
    -------
    DataFrame
        A copy; ``frame`` is not changed.
    """
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("str", "string"):
            # a list, not Series.map, which would turn a column of ints and None into floats
            out[col] = pd.Series([neutralise(v) for v in out[col].tolist()], index=out.index, dtype=object)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as UTF-8 CSV with BOM (Excel opens it as Unicode), atomically.

    Parameters
    ----------
    frame : DataFrame
        The table; text cells are written through :func:`neutralise`.
    path : str or Path
        The file to write.

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_open(path, encoding="utf-8-sig") as fh:
        neutralise_frame(frame).to_csv(fh, index=False, lineterminator="\n")
    return Path(path)


def _coverage_table(report: CoverageReport) -> pd.DataFrame:
    """coverage.csv: ``rate`` is left empty where the registries hold no data for the pair (``data`` none):
    no data is not 0%."""
    table = report.counties.reindex(columns=COVERAGE_COLUMNS).copy()
    if "data" not in report.counties:
        table["data"] = "complete"
    none = (table["data"] == "none").to_numpy()
    table["missing"] = ["" if n else "、".join(m) for m, n in zip(table["missing"], none, strict=True)]
    table["rate"] = ["" if n else f"{r:.1f}" for r, n in zip(table["rate"], none, strict=True)]
    return table


def _township_table(report: CoverageReport) -> pd.DataFrame:
    from .geography import FLAGS
    from .privacy import CASELOAD_COLUMNS, suppress_counts

    cols = ["towncode", "county", "township", "category", "facilities", "covered"]
    cols += [c for c in CASELOAD_COLUMNS if c in report.townships]  # registries with a cases column
    flags = [f for f in FLAGS if f in report.townships]
    extra = [c for c in POPULATION_TOWNSHIP_COLUMNS if c in report.townships]  # with population= / dem=
    table = report.townships[cols + flags + extra]
    if extra:
        table = table.round({"mean_km": 3, "max_km": 3, "density": 1, "seat_km": 2, "mean_elevation_m": 1,
                             "mean_min": 2, "max_min": 2})
    return suppress_counts(table, threshold=report.suppress_below)


# Columns population= / dem= add to townships.csv (coverage.pipeline.run_coverage).
# With network= the minute columns (coverage.travelaccess) sit beside the km ones.
POPULATION_TOWNSHIP_COLUMNS = ["population", "population_within_km", "population_within_min", "mean_km", "max_km",
                               "mean_min", "max_min", "villages_without_min", "nearest_facility",
                               "density", "remote", "seat_km", "mean_elevation_m", "mountain"]
VILLAGE_COLUMNS = ["villcode", "towncode", "county", "township", "village", "category", "population",
                   "nearest_km", "nearest_min", "network_km", "snap_km", "fastest_facility", "travel_reason",
                   "nearest_facility", "nearest_precision", "within_km", "within_min", "across_sea_km", "fca_2sfca",
                   "fca_e2sfca", "fca_2sfca_min", "fca_e2sfca_min"]


def _village_table(report: CoverageReport) -> pd.DataFrame:
    assert report.access is not None
    points = report.access.points.rename(columns={"people": "population", "distance_km": "nearest_km",
                                                  "facility_name": "nearest_facility", "within": "within_km"})
    precision_of = dict(zip(report.registry.facilities["facility_id"], report.registry.facilities["precision"],
                            strict=True))
    points["nearest_precision"] = points["facility_id"].map(precision_of)
    out = points[[c for c in VILLAGE_COLUMNS if c in points]].copy()
    for col in ("nearest_km", "across_sea_km"):
        out[col] = out[col].round(3)
    for col in ("fca_2sfca", "fca_e2sfca", "fca_2sfca_min", "fca_e2sfca_min"):
        if col in out:
            out[col] = out[col].round(6)
    return out


def _population_summary(report: CoverageReport) -> dict:
    """The population= / dem= figures for summary.json."""
    out: dict = {}
    pop, acc = report.population, report.access
    remoteness, priorities = report.remoteness, report.priorities
    if pop is not None:
        out["population"] = pop.summary()
    if acc is not None:
        out["population_coverage"] = {
            "age_group": acc.group,
            "distance_km": acc.distance_km,
            "catchment_km": acc.catchment_km,
            "cross_sea": acc.cross_sea,
            "across_counties": acc.across_counties,
            "points": acc.basis,
            "fca_unit": "facilities (capacity-weighted) per 10,000 people of the age group",
            "counties": _records(acc.counties),
        }
    if remoteness is not None:
        towns = set(report.townships["towncode"])
        rem = remoteness[remoteness["towncode"].isin(towns)]
        names = report.townships.drop_duplicates("towncode").set_index("towncode")[["county", "township"]]
        rem = rem.join(names, on="towncode")
        out["remoteness"] = {
            "remote": _records(rem.loc[rem["remote"].fillna(False).astype(bool),
                                       ["towncode", "county", "township", "remote_reason"]]),
            **({"mountain": _records(rem.loc[rem["mountain"].fillna(False).astype(bool),
                                             ["towncode", "county", "township", "mean_elevation_m"]])}
               if "mountain" in rem else {}),
        }
    if priorities is not None:
        out["priorities"] = _records(priorities)
    return out


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))


def summary(report: CoverageReport) -> dict:
    """Everything in the report as plain JSON-able data (no timestamps but the as-of)."""
    from . import __version__
    from .privacy import suppress_counts
    from .programmes import custom_programmes
    from .tabular import file_labels
    from .vocabulary import PROGRAMME_LABELS

    reg = report.registry
    counties = report.counties.copy()
    counties.insert(2, "category_label", counties["category"].map(lambda c: PROGRAMME_LABELS.get(c, c)))
    return {
        "tool": {"name": "safetynet-coverage", "version": __version__},
        "as_of": report.as_of.date().isoformat(),
        "definition": report.definition,
        "boundaries": report.boundaries,
        "registry": {
            "files": file_labels(report.files),  # the shortest unique paths, as in rejected.csv and the ids
            "rows_read": int(reg.rows_read),
            "accepted": int(reg.accepted),
            "rejected_rows": int(reg.rejected_rows),  # rows, not problems: rows_read == accepted + rejected_rows
            "mismatches": len(reg.mismatches),
            "withheld_columns": list(reg.withheld_columns),
            "public_columns": list(reg.public_columns),
            "skipped": list(reg.skipped),  # hidden sheets and rows, layers that are not points
        },
        "custom_categories": custom_programmes(reg.facilities["category"]),
        "suppress_below": report.suppress_below,
        "coverage": _records(suppress_counts(counties, threshold=report.suppress_below)),
        "gaps": _records(suppress_counts(report.gaps, threshold=report.suppress_below)),
        "rejected": _records(reg.rejected[REJECTED_COLUMNS]),
        "mismatches": _records(reg.mismatches),
        **_population_summary(report),
        **({"travel": travel} if (travel := _travel_summary(report)) is not None else {}),
    }


def _travel_table(report: CoverageReport) -> pd.DataFrame:
    """travel_times.csv: one row per village × programme, minutes and km by road (blank with a reason
    where no point is reachable)."""
    from .geography import load_villages

    names = load_villages().set_index("villcode")[["village"]]
    towns = report.townships.drop_duplicates("towncode").set_index("towncode")["township"]
    assert report.travel is not None
    table = report.travel.join(names, on="villcode")
    table.insert(3, "township", table["towncode"].map(towns))
    return table[["villcode", "towncode", "county", "township", "village", "category", "nearest_min", "network_km",
                  "snap_km", "facility_name", "reason"]]


def _travel_summary(report: CoverageReport) -> dict | None:
    travel = report.travel
    if travel is None:
        return None
    out: dict[str, Any] = {"network": report.network, **(report.travel_settings or {}), "by_category": {}}
    unreached = travel[travel["nearest_min"].isna()]
    out["villages_without_min"] = {reason: int(n) for reason, n in unreached["reason"].value_counts().items()}
    # villages a county's own points should reach but no road does: listed (the rest are counted above)
    cut = unreached[unreached["reason"] == "no road connection to a facility"]
    out["unreached_villages"] = _records(_travel_table(report).loc[cut.index, [
        "villcode", "county", "township", "village", "category", "reason"]])
    for cat, group in travel.groupby("category", sort=False):
        reached = group["nearest_min"].notna()
        out["by_category"][cat] = {
            "villages": int(len(group)), "reached": int(reached.sum()),
            "median_min": None if not reached.any() else round(float(group.loc[reached, "nearest_min"].median()), 1),
            "max_min": None if not reached.any() else round(float(group.loc[reached, "nearest_min"].max()), 1),
            "unreached": {reason: int(n) for reason, n in group.loc[~reached, "reason"].value_counts().items()},
        }
    return out


def write_report(report: CoverageReport, out_dir: str | Path) -> dict[str, Path]:
    """Write ``coverage.csv``, ``townships.csv``, ``rejected.csv`` and ``summary.json``.

    Returns the paths written, by name.

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    out_dir : str or Path
        The output folder.

    Returns
    -------
    dict of str to Path
        Name → path of every file written (with population also ``villages.csv`` and
        ``priorities.csv``, with a road network ``travel_times.csv``).

    Raises
    ------
    OutputError
        A file cannot be written; the message names it.
    """
    out = Path(out_dir)
    paths = {
        "coverage": write_csv(_coverage_table(report), out / "coverage.csv"),
        "townships": write_csv(_township_table(report), out / "townships.csv"),
        "rejected": write_csv(report.registry.rejected[REJECTED_COLUMNS], out / "rejected.csv"),
    }
    if report.access is not None and report.population is not None and report.population.level == "village":
        paths["villages"] = write_csv(_village_table(report), out / "villages.csv")
    if report.priorities is not None:
        paths["priorities"] = write_csv(report.priorities, out / "priorities.csv")
    if report.travel is not None:
        paths["travel times"] = write_csv(_travel_table(report), out / "travel_times.csv")
    if report.population is not None and len(report.population.rejected):
        paths["population rejected"] = write_csv(report.population.rejected, out / "population_rejected.csv")
    with atomic_open(out / "summary.json") as fh:
        json.dump(summary(report), fh, ensure_ascii=False, indent=2, sort_keys=False)
        fh.write("\n")
    paths["summary"] = out / "summary.json"
    return paths
