"""Attack run: hostile inputs against the ``safetynet`` CLI of a checkout, each classified HELD or BROKE.

Usage::

    python benchmarks/attacks.py --repo DIR [--out FILE.md] [--json FILE] [--only SUBSTRING] [--keep DIR]

Every case of :mod:`attack_corpus` runs as its own subprocess of ``DIR``'s CLI
(``cd DIR && /work/main/.venv/bin/python -c 'from coverage.cli import main; main()' …``, so ``DIR``'s
``coverage`` package is the one imported), one after another, with a 60 s timeout. Wall time and the
child's own peak RSS are measured (``os.wait4`` on that child: its ``ru_maxrss``, not the maximum over
all children). A case BROKE when any of these hold:

* a traceback on stderr, or a timeout;
* an exit code other than the documented one (usage errors 2, input errors 1, else 0);
* exit 1 without exactly one ``error:`` line naming the file (every other stderr line must be a
  log line);
* a personal value planted in the input (:data:`attack_corpus.SENTINELS`) appears in stdout, stderr
  or any file written (XLSX unzipped, Parquet decoded);
* ``summary.json`` does not balance: ``rows_read != accepted + rejected_rows``, or ``rejected_rows``
  differs from the distinct (file, row) pairs of ``rejected.csv``;
* for a bomb: more than 300 MB peak RSS, or more than 5 s over the control run's wall time;
* the case's own check finds a wrong figure or a merged/misread record accepted (see the corpus).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attack_corpus import SENTINELS, Case, Result, all_output_text, balance, build

PYTHON = os.environ.get("SAFETYNET_PYTHON", "/work/main/.venv/bin/python")
TIMEOUT_S = 60.0
BOMB_MB = 300.0
BOMB_EXTRA_S = 5.0
MEM_CAP_MB = 3000.0  # a run past this is killed (the machine is shared) and counts as a timeout
_LOG_LINE = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+: ")
_ENTRY = "from coverage.cli import main; main()"

#: Known causes of breaks: (key, where in the code, what goes wrong, case-id pattern, problem pattern). A problem
#: is attributed to the first cause whose two patterns match; the rest are listed as "unclassified".
CAUSES = [
    ("quote-merge", "readers.py `_read_csv`/`_frame`",
     "csv.reader lets one unbalanced `\"` swallow the following lines into one field: rows_read counts parsed "
     "records, not physical lines; the merged record is accepted (with a later line's coordinates) or rejected "
     "as one row, and the row numbers after it shift", r"^csv-quote|^csv-", r"physical data lines|per township differ"),
    ("population-quote", "population.py `_rows_from_csv`",
     "the same quote damage in population files: lines swallowed, rows_read short", r"^population-stray", r"."),
    ("rejected-rows-lines", "report.py `summary()`",
     "`registry.rejected_rows` is `len(reg.rejected)`, the number of rejection lines, not of distinct rows, so "
     "rows_read != accepted + rejected_rows whenever a row has two problems", r".", r"rejected_rows"),
    ("privacy-rejection-values", "facilities.py (rejection values)",
     "a rejection's `value` echoes the raw cell: contact names that quote damage or a missing cell moved into "
     "鄉鎮市區/經度/結束日期, and `cases` text, reach rejected.csv and summary.json", r".", r"personal value"),
    ("wide-row", "readers.py `_chunk_table`",
     "every row of a 50,000-row chunk is padded to the widest row: one 1,000,000-comma line costs 520 MB and 44 s",
     r"million-comma", r"."),
    ("short-row", "readers.py `_chunk_table`", "a row with fewer cells than the header is padded with blanks and "
     "accepted (only extra cells are detected)", r"too-few-cells-trailing", r"."),
    ("xlsx-formula", "workbook.py", "a custom category '=2+5' is written un-neutralised into coverage.xlsx "
     "(sharedStrings); the CSVs are neutralised", r"^csv-formula", r"."),
    ("duplicate-header", "readers.py `_column_names`", "a second 經度 column with other values is renamed src_經度 "
     "and ignored without a word", r"duplicate-header", r"."),
    ("programme-aliases", "facilities.py `_CATEGORY_ALIASES`", "common programme names (社會福利中心, "
     "小衛星據點, 兒少據點, 兒少及家庭支持服務據點, 兒童及少年家庭社區支持服務據點, 心理衛生中心, 社區心衛中心, "
     "精障會所) and plain "
     "English (Welfare Centre, Community Support Point, Mental Health Centre) fork into custom programmes",
     r"^programme-(welfare|community|mental|psych)", r"."),
    ("programme-custom", "facilities.py / display.py", "custom programmes are not listed as custom; a near-miss "
     "(小衛, 社福中新, 心衛中, Welfare Center) becomes a new programme instead of a did-you-mean rejection",
     r"^programme-(custom|near)", r"."),
    ("status-words", "measure.py `facility_state`", "暫停服務 is not a closed status; 規劃中/籌備中 mean planned only "
     "when no opening date is given (a past date makes them open); contradictions of status and dates are not "
     "listed anywhere", r"^status-", r"."),
    ("closing-day", "measure.py `facility_state`, plan.py `coverage_trend`", "`closed <= as_of` makes the closing "
     "date exclusive: a point closed 109/12/31 is not open on 109/12/31 nor in 109's year-end trend",
     r"^closed-109", r"."),
    ("name-variants", "names.py", "恒春鎮 (恒/恆), 峨嵋鄉, 南澳鎮 are not resolved; a rejected address has no "
     "did-you-mean", r"^place-", r"."),
    ("xlsx-sheets", "readers.py `_read_xlsx`", "only the first sheet with a header is read and its name is not in "
     "the label; hidden sheets are skipped and hidden rows read, both without a word", r"^xlsx-(two|hidden)", r"."),
    ("xlsx-bombs", "readers.py `_read_xlsx` (openpyxl read-only)", "rows are padded to the last/declared column and "
     "every shared string is parsed before the first row: XFD1048576 and a lying <dimension> pass 1–2 GB and 60 s; "
     "12 M shared strings take over 60 s", r"^xlsx-(cell|dimension|shared)", r"."),
    ("gpkg-layers", "readers.py `_read_vector`", "only the first readable layer of a GeoPackage is read; the other "
     "point layer is ignored silently and no layer name is in the label", r"^gpkg", r"."),
    ("same-name", "facilities.py `read_facilities` (label = file name)", "two 清冊.csv from different folders share "
     "one label, so their rows and facility ids collide", r"^same-file", r"."),
    ("population-duplicates", "population.py", "a village already read as 10010140-001 is read again as "
     "10010140001 and by name: counted two or three times", r"three-spellings", r"."),
    ("population-age-total", "population.py", "an age group larger than the total is accepted",
     r"age-group-over", r"."),
    ("deep-json", "population.py `_rows_from_json`", "json.loads raises RecursionError on deep nesting: traceback",
     r"^population-json", r"."),
    ("targets-values", "plan.py `load_targets`/`compare_targets`", "target_count/target_rate inf or 1e400 reach "
     "math.ceil → OverflowError traceback; a negative target is accepted", r"^targets-", r"."),
    ("scenario-rows", "plan.py `read_scenario`/`parse_addition`", "a bad scenario target is reported as `--add …` "
     "(no file, no row); an unknown category or a NUL byte in a scenario is accepted", r"^scenario-", r"."),
    ("points", "scale.py `read_points`/`nearest`, cli_data.py", "text, blank or NaN coordinates crash the whole "
     "run (traceback, exit 1) instead of being rejected rows; out-of-range points pass as 'outside' with no "
     "reason; a point in Tokyo gets a 2,300 km distance that drives the printed maximum",
     r"^(locate|nearest)-", r"."),
    ("module-entry", "cli.py `if __name__ == \"__main__\"`", "`python -m coverage.cli` runs cli.py as __main__; "
     "cli_data/cli_plan register their commands on the imported copy of `app`, so only report/validate/map exist "
     "(`No such command 'targets'`)", r"python-m-entry", r"."),
    ("exit-codes", "cli.py, cli_plan.py, pipeline.py `resolve_categories`", "unknown county, bad --as-of, "
     "--definition, --age-group exit 1 (not 2); an unknown --category (小衛, 長照據點) or whatif --add …:小衛 is "
     "accepted as a custom programme with exit 0", r"^cli-", r"."),
    ("concurrent-parts", "report.py `remove_stale_parts`", "every run deletes every .part in --out, including a "
     "live run's: the other run fails renaming its part (exit 1)", r"^concurrent", r"."),
    ("manifest", "report.py", "no manifest.json; an earlier run's maps stay beside a new run's outputs",
     r"^(manifest|leftover)", r"."),
    ("map-determinism", "maps.py", "two identical runs give different 嘉義縣.html (folium's random element ids)",
     r"^determinism", r"."),
    ("map-offline", "maps.py", "maps load Leaflet and plug-ins from cdn.jsdelivr.net unless --offline",
     r"^maps-offline", r"."),
]


def cause_of(case_id: str, problem: str) -> str:
    """Key of the first :data:`CAUSES` entry matching a case's problem, else ``unclassified``."""
    for key, _, _, id_re, prob_re in CAUSES:
        if re.search(id_re, case_id) and re.search(prob_re, problem):
            return key
    return "unclassified"


def _argv(case: Case, out: Path) -> list[str]:
    return [a.replace("{out}", str(out)).replace("{first}", str(out.parent / "first")) for a in case.argv]


def _spawn(repo: Path, args: list[str], work: Path, tag: str, module_entry: bool = False) -> tuple:
    cmd = [PYTHON, "-m", "coverage.cli", *args] if module_entry else [PYTHON, "-c", _ENTRY, *args]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONHASHSEED": "0", "TERM": "dumb"}
    env.pop("PYTHONPATH", None)
    fo = open(work / f"{tag}.stdout", "wb")  # noqa: SIM115 - closed in _wait
    fe = open(work / f"{tag}.stderr", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=repo, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    return proc, fo, fe, time.perf_counter()


def _rss_now(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _wait(spawned: tuple, deadline: float) -> tuple[int | None, float, float, bool]:
    proc, fo, fe, t0 = spawned
    rc, rss, timed_out = None, 0.0, False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            rc = os.waitstatus_to_exitcode(status)
            rss = usage.ru_maxrss / 1024
            break
        if time.perf_counter() > deadline or _rss_now(proc.pid) > MEM_CAP_MB:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            _, status, usage = os.wait4(proc.pid, 0)
            rss = usage.ru_maxrss / 1024
            break
        time.sleep(0.02)
    proc.returncode = rc if rc is not None else -9
    wall = time.perf_counter() - t0
    fo.close()
    fe.close()
    return rc, wall, rss, timed_out


def run_case(repo: Path, case: Case, work: Path) -> Result:
    """Run one case (and its concurrent twins) and return the first run's result."""
    cdir = work / case.id
    if cdir.exists():
        shutil.rmtree(cdir)
    cdir.mkdir(parents=True)
    out = cdir / "out"
    if case.prepare:
        case.prepare(out)
    for k, pre in enumerate(case.pre):
        args = [a.replace("{out}", str(out)).replace("{first}", str(cdir / "first")) for a in pre]
        _wait(_spawn(repo, args, cdir, f"pre{k}"), time.perf_counter() + TIMEOUT_S * 2)
    args = _argv(case, out)
    spawned = [_spawn(repo, args, cdir, f"run{k}", case.module_entry) for k in range(case.parallel)]
    deadline = time.perf_counter() + TIMEOUT_S
    results = []
    for k, s in enumerate(spawned):
        rc, wall, rss, timed_out = _wait(s, deadline)
        results.append(Result(rc, (cdir / f"run{k}.stdout").read_text("utf-8", "replace"),
                              (cdir / f"run{k}.stderr").read_text("utf-8", "replace"), out, wall, rss, timed_out))
    first = results[0]
    first.others = results[1:]
    return first


def _error_lines(stderr: str) -> tuple[list[str], list[str]]:
    errors, other = [], []
    for line in stderr.splitlines():
        if line.startswith("error:"):
            errors.append(line)
        elif line.strip() and not _LOG_LINE.match(line):
            other.append(line)
    return errors, other


def _formula_cells(res: Result) -> list[str]:
    found = []
    num = re.compile(r"^[-+]?\d[\d,]*(\.\d+)?([eE][-+]?\d+)?%?$")
    for p in sorted(res.out.rglob("*")):
        if p.suffix == ".csv":
            with open(p, encoding="utf-8-sig", newline="") as fh:
                for row in csv.reader(fh):
                    found += [f"{p.name}: {c[:30]!r}" for c in row if c and c[0] in "=+-@" and not num.match(c)]
        elif p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                for n in z.namelist():
                    if not n.endswith(".xml"):
                        continue
                    xml = z.read(n).decode("utf-8", "replace")
                    if "<f>" in xml or "<f " in xml:
                        found.append(f"{p.name}/{n}: a formula element")
                    for t in re.findall(r"<t(?: [^>]*)?>([^<]*)</t>", xml):
                        t = t.replace("&amp;", "&")
                        if t and t[0] in "=+-@" and not num.match(t):
                            found.append(f"{p.name}/{n}: {t[:30]!r}")
    return found


def classify(case: Case, res: Result, control_wall: float) -> tuple[str, list[str]]:
    """HELD or BROKE, with the causes."""
    probs: list[str] = []
    runs = [res, *res.others]
    for r in runs:
        if r.timed_out:
            probs.append(f"killed after {r.wall:.0f} s at {r.rss_mb:,.0f} MB peak (limits: {TIMEOUT_S:.0f} s, "
                         f"{MEM_CAP_MB:,.0f} MB)")
        if "Traceback (most recent call last)" in r.stderr:
            last = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
            probs.append(f"traceback: {last[-1][:200] if last else ''}")
    if res.rc not in case.expect and not res.timed_out and not case.parallel > 1:
        errors, _ = _error_lines(res.stderr)
        said = errors[0][:160] if errors else next(
            (t for t in (ln.strip(" │╭╮╰╯─\t") for ln in reversed(res.stderr.splitlines())) if t), "")[:160]
        probs.append(f"exit {res.rc}, expected {'/'.join(map(str, case.expect))}" + (f" ({said})" if said else ""))
    if res.rc == 1 and 1 in case.expect and "Traceback" not in res.stderr:
        errors, other = _error_lines(res.stderr)
        if len(errors) != 1:
            probs.append(f"exit 1 with {len(errors)} 'error:' lines")
        elif other:
            probs.append(f"the error message spans {len(other) + 1} lines")
        elif case.names_file and case.names_file not in errors[0]:
            probs.append(f"error does not name the file {case.names_file}: {errors[0][:160]}")
    text = all_output_text(res)
    leaked = [s for s in SENTINELS if s in text]
    if leaked:
        where = [p.name for p in res.out.rglob("*") if p.is_file() and p.suffix in (".csv", ".json")
                 and any(s in p.read_text("utf-8", "replace") for s in leaked)]
        if any(s in res.stdout + res.stderr for s in leaked):
            where.append("stdout/stderr")
        probs.append(f"personal value {leaked[0]!r} echoed in {', '.join(where) or 'an output'}")
    if res.rc == 0:
        probs += balance(res)
    if case.bomb:
        if res.rss_mb > BOMB_MB:
            probs.append(f"peak RSS {res.rss_mb:,.0f} MB > {BOMB_MB:.0f} MB")
        if res.wall - control_wall > BOMB_EXTRA_S and not res.timed_out:
            probs.append(f"{res.wall:.1f} s, more than {BOMB_EXTRA_S:.0f} s over the control run "
                         f"({control_wall:.1f} s)")
    if case.formula_scan and res.rc == 0:
        cells = _formula_cells(res)
        if cells:
            probs.append(f"{len(cells)} formula-like cell(s) not neutralised, e.g. {cells[0]}")
    if case.check and not res.timed_out:
        try:
            probs += case.check(res)
        except Exception as exc:
            probs.append(f"output unreadable by the check: {type(exc).__name__}: {exc}")
    return ("BROKE" if probs else "HELD"), probs


def _outcome(res: Result) -> str:
    if res.timed_out:
        return "killed (time or memory cap)"
    if res.rc == 0:
        return "read (exit 0)"
    errors, _ = _error_lines(res.stderr)
    if res.rc == 1 and errors:
        return "refused: " + errors[0].removeprefix("error:").strip()[:90]
    return f"exit {res.rc}"


def render(records: list[dict], repo: Path, commit: str, started: str, control_wall: float, control_rss: float
           ) -> str:
    classes: dict[str, list[dict]] = {}
    for r in records:
        classes.setdefault(r["class"], []).append(r)
    held = sum(r["verdict"] == "HELD" for r in records)
    lines = [
        f"# Attack run: {repo} @ {commit}",
        "",
        f"{started} UTC; {len(records)} cases, **{held} held, {len(records) - held} broke**. "
        f"Each case is a fresh `safetynet` process (60 s timeout); control run {control_wall:.1f} s, "
        f"peak {control_rss:.0f} MB. Generated by `python benchmarks/attacks.py --repo {repo}`.",
        "",
        "| class | cases | held | broke |",
        "|---|---:|---:|---:|",
    ]
    for cls, rs in classes.items():
        h = sum(r["verdict"] == "HELD" for r in rs)
        lines.append(f"| {cls} | {len(rs)} | {h} | {len(rs) - h} |")
    lines.append(f"| **total** | **{len(records)}** | **{held}** | **{len(records) - held}** |")
    lines += ["", "## Bombs: time and peak memory", "",
              f"BROKE above {BOMB_MB:.0f} MB peak RSS or {BOMB_EXTRA_S:.0f} s over the control run.", "",
              "| case | input | outcome | wall s | peak RSS MB | verdict |", "|---|---|---|---:|---:|---|"]
    for r in records:
        if r["bomb"]:
            outcome = re.sub(r"(?<![\w.])/(?:[^/\s:]+/)+", "", r["outcome"])  # file names without their folders
            lines.append(f"| {r['id']} | {r['title']} | {outcome} | {r['wall_s']:.1f} | "
                         f"{r['peak_rss_mb']:,.0f} | {r['verdict']} |")
    by_cause: dict[str, list[str]] = {}
    for r in records:
        for p in r["problems"]:
            ids = by_cause.setdefault(cause_of(r["id"], p), [])
            if r["id"] not in ids:
                ids.append(r["id"])
    lines += ["", "## Causes of the breaks", "", "| cause | where | what goes wrong | cases |", "|---|---|---|---|"]
    for key, where, what, _, _ in [*CAUSES, ("unclassified", "", "not matched to a known cause", "", "")]:
        if key in by_cause:
            ids = by_cause[key]
            more = " …" if len(ids) > 8 else ""
            lines.append(f"| {key} | {where} | {what} | {len(ids)}: {', '.join(ids[:8])}{more} |")
    lines += ["", "## Breaks", ""]
    for cls, rs in classes.items():
        broke = [r for r in rs if r["verdict"] == "BROKE"]
        if not broke:
            continue
        lines += [f"### {cls}", ""]
        for r in broke:
            lines.append(f"- **{r['id']}** — {r['title']}: "
                         + "; ".join(f"[{cause_of(r['id'], p)}] {p}" for p in r["problems"]))
        lines.append("")
    lines += ["## Every case", "", "| case | class | verdict | exit | wall s | RSS MB |",
              "|---|---|---|---:|---:|---:|"]
    for r in records:
        lines.append(f"| {r['id']} | {r['class']} | {r['verdict']} | {r['rc']} | {r['wall_s']:.1f} | "
                     f"{r['peak_rss_mb']:,.0f} |")
    return "\n".join(lines) + "\n"


def compare(baseline: dict, runs: list[dict]) -> str:
    """Before/after markdown: the baseline, the first run (a merge), and the first run or any later run (a branch
    run on a subset of cases) holding each case."""
    base = {r["id"]: r for r in baseline["cases"]}
    first = {r["id"]: r for r in runs[0]["cases"]}
    later = [{r["id"]: r for r in run["cases"]} for run in runs[1:]]
    order = [r["id"] for r in baseline["cases"]]

    def best(i: str) -> tuple[str, str]:
        if first.get(i, {}).get("verdict") == "HELD":
            return "HELD", runs[0]["label"]
        for run, cases in zip(runs[1:], later, strict=True):
            if cases.get(i, {}).get("verdict") == "HELD":
                return "HELD", run["label"]
        return "BROKE", ""

    classes: dict[str, list[str]] = {}
    for i in order:
        classes.setdefault(base[i]["class"], []).append(i)
    lines = [
        "# Attack run: before and after", "",
        f"- **before**: {baseline['repo']} @ {baseline['commit']}, {baseline['started']}.",
        f"- **after**: {runs[0]['label']}: every case, {runs[0]['started']} UTC.",
    ]
    lines += [f"- **after (branch)**: {r['label']}: {len(r['cases'])} cases of its own domain, {r['started']}."
              for r in runs[1:]]
    branches = len(runs) > 1
    if branches:
        lines += ["", "A case counts as held in the last column if it held on the merge or on a branch run that "
                  "included it (branches that did not merge cleanly were attacked alone)."]
    lines += ["", "| class | cases | before: held / broke | after: held / broke |"
              + (" after, merge or branch: held / broke |" if branches else ""),
              "|---|---:|---:|---:|" + ("---:|" if branches else "")]
    tot = [0, 0, 0, 0]
    for cls, ids in classes.items():
        b = sum(base[i]["verdict"] == "HELD" for i in ids)
        m = sum(first.get(i, {}).get("verdict") == "HELD" for i in ids)
        c = sum(best(i)[0] == "HELD" for i in ids)
        tot = [tot[0] + len(ids), tot[1] + b, tot[2] + m, tot[3] + c]
        lines.append(f"| {cls} | {len(ids)} | {b} / {len(ids) - b} | {m} / {len(ids) - m} |"
                     + (f" {c} / {len(ids) - c} |" if branches else ""))
    n = tot[0]
    lines.append(f"| **total** | **{n}** | **{tot[1]} / {n - tot[1]}** | **{tot[2]} / {n - tot[2]}** |"
                 + (f" **{tot[3]} / {n - tot[3]}** |" if branches else ""))
    lines += ["", "## Bombs after", "",
              "| case | outcome | wall s | peak RSS MB | verdict (before → after) |", "|---|---|---:|---:|---|"]
    for i in order:
        r = first.get(i)
        if r and r["bomb"]:
            outcome = re.sub(r"(?<![\w.])/(?:[^/\s:]+/)+", "", r["outcome"])
            lines.append(f"| {i} | {outcome[:90]} | {r['wall_s']:.1f} | {r['peak_rss_mb']:,.0f} | "
                         f"{base[i]['verdict']} → {r['verdict']} |")
    fixed = [i for i in order if base[i]["verdict"] == "BROKE" and best(i)[0] == "HELD"]
    lines += ["", f"## Fixed ({len(fixed)})", ""]
    by: dict[str, list[str]] = {}
    for i in fixed:
        by.setdefault(best(i)[1], []).append(i)
    lines += [f"- on {k}: {', '.join(v)}" for k, v in by.items()]
    still = [i for i in order if best(i)[0] == "BROKE"]
    lines += ["", f"## Still broken ({len(still)}), with the cause", ""]
    for i in still:
        r = first.get(i) or next((c[i] for c in later if i in c), base[i])
        for cases in later:  # a branch run of this case is the more relevant evidence
            if i in cases:
                r = cases[i]
        probs = "; ".join(f"[{cause_of(i, p)}] {p}" for p in r["problems"]) or "(see run)"
        new = " (new: held before)" if base[i]["verdict"] == "HELD" else ""
        lines.append(f"- **{i}**{new}: {probs}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, help="checkout whose coverage/ package is attacked")
    ap.add_argument("--compare", type=Path, nargs="+", metavar="JSON",
                    help="no run: a before/after table from a baseline --json, a merge run's --json and any branch "
                    "runs' --json (each may be given as LABEL=FILE)")
    ap.add_argument("--out", type=Path, help="markdown report")
    ap.add_argument("--json", type=Path, help="every case as JSON")
    ap.add_argument("--only", action="append", help="run only cases whose id contains this (repeatable)")
    ap.add_argument("--keep", type=Path, help="keep the corpus and outputs in this folder")
    ap.add_argument("--merge", type=Path, help="an earlier --json of the same repo: its cases not run now are kept "
                    "(re-run a few cases with --only after changing their checks)")
    args = ap.parse_args(argv)
    if args.compare:
        loaded = []
        for spec in args.compare:
            label, _, file = str(spec).rpartition("=")
            data = json.loads(Path(file).read_text(encoding="utf-8"))
            data["label"] = label or f"{data['repo']} @ {data['commit']}"
            loaded.append(data)
        md = compare(loaded[0], loaded[1:])
        if args.out:
            args.out.write_text(md, encoding="utf-8")
        else:
            print(md)
        return 0
    if args.repo is None:
        ap.error("--repo is required (or --compare)")
    repo = args.repo.resolve()
    if not (repo / "coverage" / "cli.py").exists():
        ap.error(f"{repo} has no coverage/cli.py")
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no",
                            "coverage"], capture_output=True,
                           text=True).stdout.strip()
    commit += " (uncommitted changes in coverage/)" if dirty else ""
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    base = args.keep or Path(tempfile.mkdtemp(prefix="safetynet-attacks-"))
    corpus, work = base / "corpus", base / "runs"
    cases = build(corpus)
    if args.only:
        cases = [c for c in cases if c.id.startswith("control-") or any(s in c.id for s in args.only)]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    print(f"{len(cases)} cases against {repo} @ {commit}", file=sys.stderr)
    records, control_wall, control_rss = [], 0.0, 0.0
    for case in cases:
        res = run_case(repo, case, work)
        if case.id == "control-report":
            control_wall, control_rss = res.wall, res.rss_mb
            if args.merge:  # the bombs are judged against the earlier run's control
                control_wall = json.loads(args.merge.read_text(encoding="utf-8"))["control_wall_s"]
        verdict, probs = classify(case, res, control_wall)
        records.append({
            "id": case.id, "class": case.cls, "title": case.title, "argv": _argv(case, Path("OUT")),
            "expect": list(case.expect), "rc": res.rc, "verdict": verdict, "problems": probs,
            "wall_s": round(res.wall, 2), "peak_rss_mb": round(res.rss_mb, 1), "bomb": case.bomb,
            "outcome": _outcome(res), "stderr_tail": res.stderr.strip()[-400:],
            "other_runs": [{"rc": o.rc, "wall_s": round(o.wall, 2), "stderr_tail": o.stderr.strip()[-300:]}
                           for o in res.others],
        })
        print(f"{verdict:5} {case.id:45} rc={res.rc} {res.wall:5.1f}s {res.rss_mb:6.0f}MB  "
              + "; ".join(probs)[:220], file=sys.stderr, flush=True)
    if args.merge:
        prev = json.loads(args.merge.read_text(encoding="utf-8"))
        now = {r["id"]: r for r in records}
        order = [c.id for c in build(base / "corpus-merge")]
        records = [now.get(i) or next((p for p in prev["cases"] if p["id"] == i), None) for i in order]
        records = [r for r in records if r is not None]
        control_wall, control_rss = prev["control_wall_s"], prev["control_rss_mb"]
        started = f"{prev['started']} (cases {', '.join(sorted(now))} re-run {started} at {commit})"
        commit = prev["commit"]
    md = render(records, repo, commit, started, control_wall, control_rss)
    if args.out:
        args.out.write_text(md, encoding="utf-8")
    else:
        print(md)
    if args.json:
        args.json.write_text(json.dumps({"repo": str(repo), "commit": commit, "started": started,
                                         "control_wall_s": control_wall, "control_rss_mb": control_rss,
                                         "cases": records}, ensure_ascii=False, indent=1), encoding="utf-8")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
