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
                    found += [f"{p.name}: {c[:30]!r}" for c in row if c[:1] in "=+-@" and not num.match(c)]
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
                        if t[:1] in "=+-@" and not num.match(t):
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
        return "timeout"
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
            lines.append(f"| {r['id']} | {r['title']} | {r['outcome']} | {r['wall_s']:.1f} | "
                         f"{r['peak_rss_mb']:,.0f} | {r['verdict']} |")
    lines += ["", "## Breaks", ""]
    for cls, rs in classes.items():
        broke = [r for r in rs if r["verdict"] == "BROKE"]
        if not broke:
            continue
        lines += [f"### {cls}", ""]
        for r in broke:
            lines.append(f"- **{r['id']}** — {r['title']}: " + "; ".join(r["problems"]))
        lines.append("")
    lines += ["## Every case", "", "| case | class | verdict | exit | wall s | RSS MB |",
              "|---|---|---|---:|---:|---:|"]
    for r in records:
        lines.append(f"| {r['id']} | {r['class']} | {r['verdict']} | {r['rc']} | {r['wall_s']:.1f} | "
                     f"{r['peak_rss_mb']:,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, required=True, help="checkout whose coverage/ package is attacked")
    ap.add_argument("--out", type=Path, help="markdown report")
    ap.add_argument("--json", type=Path, help="every case as JSON")
    ap.add_argument("--only", action="append", help="run only cases whose id contains this (repeatable)")
    ap.add_argument("--keep", type=Path, help="keep the corpus and outputs in this folder")
    args = ap.parse_args(argv)
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
