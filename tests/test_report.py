"""Output writers: atomic writes and spreadsheet-formula neutralisation."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from coverage.report import atomic_open, neutralise, neutralise_frame, write_csv


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+2", "'=1+2"), ("+886", "'+886"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=x", "'\t=x"),
     ("阿里山鄉", "阿里山鄉"), ("", ""), (5, 5), (-5, -5), (None, None)],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_neutralise_frame_keeps_numbers():
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "ok"], "n": [-1, 2]})
    out = neutralise_frame(frame)
    assert out["name"].tolist() == ["'=HYPERLINK(\"http://x\")", "ok"]
    assert out["n"].tolist() == [-1, 2]
    assert frame["name"].iloc[0].startswith("=")  # input untouched


def test_atomic_open_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "coverage.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half a new fi")
        raise RuntimeError("interrupted")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["coverage.csv"]  # no temporary left behind


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    """A new output follows the umask (not mkstemp's private 0600: a map put on an intranet
    web server must be readable by it); a replaced file keeps the permissions it had."""
    old = os.umask(0o022)
    try:
        new = write_csv(pd.DataFrame({"a": [1]}), tmp_path / "new.csv")
        kept = tmp_path / "private.csv"
        kept.write_text("old\n", encoding="utf-8")
        kept.chmod(0o600)
        write_csv(pd.DataFrame({"a": [1]}), kept)
    finally:
        os.umask(old)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_write_csv_utf8_bom(tmp_path):
    path = write_csv(pd.DataFrame({"縣市": ["嘉義縣"]}), tmp_path / "sub" / "t.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "嘉義縣".encode() in raw


def test_killed_writer_leaves_no_partial_output(tmp_path):
    """SIGKILL in the middle of a large write: the target is absent or whole, never half-written,
    and the next run removes the hidden temporary file."""
    import signal
    import subprocess
    import sys
    import time

    from coverage.report import remove_stale_parts

    target = tmp_path / "big.csv"
    code = (
        "import sys, time\n"
        "from coverage.report import atomic_open\n"
        "with atomic_open(sys.argv[1]) as fh:\n"
        "    for i in range(10**9):\n"
        "        fh.write(f'{i},阿里山鄉\\n')\n"
        "        if i == 1000:\n"
        "            print('writing', flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert not target.exists()
    parts = list(tmp_path.glob(".big.csv.*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size > 0
    assert remove_stale_parts(tmp_path) == parts
    assert list(tmp_path.iterdir()) == []
