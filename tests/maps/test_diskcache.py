"""The maps' disk cache (issue 16: a warm national report imports neither folium nor jinja2 and simplifies
no boundary again): folium's page skeleton and web assets, the township display geometry, the catchment
outlines, under ``datasets.cache_dir()/maps``.

Every shortcut is checked against the long way: pages written with an empty cache, with a warm one and
with the cache switched off are the same bytes; a cache entry that is malformed (truncated, wrong types,
wrong length, another entry's content) is computed again and rewritten, never used; a cache that cannot
be written costs nothing but time; other polygons never find the entry of the old ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import coverage.maps.memo as memo
from coverage.geography import load_townships
from coverage.maps import encoded_display, write_maps
from coverage.pipeline import run_coverage

REPO = Path(__file__).resolve().parents[2]
KINDS = ("folium-assets", "folium-skeleton", "display", "outlines")


@pytest.fixture(scope="module")
def hualien():
    """花蓮縣 (service areas split by village: outlines with village parts) and 連江縣."""
    return run_coverage(counties=["花蓮縣", "連江縣"], as_of="2026-12-01")


def pages(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def entries(cache: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted((cache / "maps").glob("*.json"))}


@pytest.fixture(scope="module")
def reference(hualien, tmp_path_factory):
    """The pages written with the disk cache switched off, and a warm cache made by one run."""
    from coverage.maps import render

    render._skeleton.cache_clear()  # kept in memory per process: computed afresh below
    render._asset_urls.cache_clear()
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(memo, "read_cached", lambda kind, key: None)
        mp.setattr(memo, "write_cached", lambda kind, key, value: None)
        off = tmp_path_factory.mktemp("off")
        write_maps(hualien, off, offline=True, national=False)
    finally:
        mp.undo()
    render._skeleton.cache_clear()
    render._asset_urls.cache_clear()
    cache = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("SAFETYNET_CACHE", str(cache))
        cold = tmp_path_factory.mktemp("cold")
        write_maps(hualien, cold, offline=True, national=False)
    finally:
        mp.undo()
    return pages(off), cache, pages(cold)


def test_cold_and_warm_pages_are_those_without_cache(hualien, reference, tmp_path, monkeypatch):
    expected, cache, cold = reference
    assert cold == expected
    kinds = {name.rsplit("-", 1)[0] for name in entries(cache)}
    for kind in KINDS:  # every cache was filled: each shortcut below is exercised
        assert any(k.startswith(kind) for k in kinds), (kind, kinds)
    outlines = [json.loads(p.read_text(encoding="utf-8")) for n, p in entries(cache).items()
                if n.startswith("outlines-")]
    assert any(any(a["vi"] or a["g"] or a["ti"] for a in entry) for entry in outlines)
    monkeypatch.setenv("SAFETYNET_CACHE", str(cache))
    before = {n: p.stat().st_mtime_ns for n, p in entries(cache).items()}
    write_maps(hualien, tmp_path / "warm", offline=True, national=False)
    assert pages(tmp_path / "warm") == expected
    assert {n: p.stat().st_mtime_ns for n, p in entries(cache).items()} == before  # read, not rewritten


def test_warm_run_imports_neither_folium_nor_jinja2(tmp_path):
    """A fresh interpreter with a warm cache writes the same pages without importing folium or jinja2."""
    code = ("import sys, json; from coverage.pipeline import run_coverage; from coverage.maps import write_maps; "
            "r = run_coverage(counties=['連江縣'], as_of='2026-12-01'); write_maps(r, sys.argv[1], offline=True, "
            "national=False); print(json.dumps(['folium' in sys.modules, 'jinja2' in sys.modules]))")
    env = {**os.environ, "SAFETYNET_CACHE": str(tmp_path / "cache")}
    runs = []
    for name in ("cold", "warm"):
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], capture_output=True, text=True,
                             cwd=REPO, env=env, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert runs[0] == [True, True]  # the cold run rendered the skeleton with folium
    assert runs[1] == [False, False]
    assert pages(tmp_path / "warm") == pages(tmp_path / "cold")


def _mutations(value):
    """Structurally valid JSON that is not the entry: each a (label, JSON text)."""
    text = json.dumps(value, ensure_ascii=False)
    out = [("empty object", "{}"), ("null", "null"), ("a number", "7"), ("truncated", text[: len(text) // 2])]
    if isinstance(value, dict):
        first = next(iter(value))
        out.append(("a key dropped", json.dumps({k: v for k, v in value.items() if k != first})))
        out.append(("a value of another type", json.dumps({**value, first: "x"})))
        if isinstance(value.get("g"), list):
            out.append(("one geometry short", json.dumps({**value, "g": value["g"][:-1]})))
    if isinstance(value, list):
        out.append(("one item short", json.dumps(value[:-1])))
        out.append(("an item of another type", json.dumps([*value[:-1], "x"])))
        if value and isinstance(value[0], dict):
            out.append(("an extra field", json.dumps([{**value[0], "zz": 1}, *value[1:]])))
            out.append(("a field renamed", json.dumps([{("F" if k == "f" else k): v for k, v in value[0].items()},
                                                       *value[1:]])))
    return out


_CORRUPTED: dict[str, int] = {}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(kind="folium-assets", pick=0, how=0, bad_bytes=True)  # every kind at least once, whatever the draw
@example(kind="folium-skeleton", pick=0, how=1, bad_bytes=False)
@example(kind="display", pick=1, how=2, bad_bytes=False)
@example(kind="outlines", pick=2, how=3, bad_bytes=False)
@given(kind=st.sampled_from(KINDS), pick=st.integers(0, 10_000), how=st.integers(0, 10_000), bad_bytes=st.booleans())
def test_malformed_entries_are_computed_again(hualien, reference, tmp_path_factory, kind, pick, how, bad_bytes):
    """A cache entry replaced by malformed content (valid JSON of the wrong shape, a truncated file, bytes
    that are not UTF-8) is not used: the pages are those without cache, and the entry is rewritten."""
    expected, warm, _ = reference
    cache = tmp_path_factory.mktemp("bad")
    (cache / "maps").mkdir()
    for name, path in entries(warm).items():
        (cache / "maps" / name).write_bytes(path.read_bytes())
    names = sorted(n for n in entries(cache) if n.startswith(kind))
    assert names, kind  # every kind is filled by the warm run
    name = names[pick % len(names)]
    path = cache / "maps" / name
    good = path.read_bytes()
    if bad_bytes:
        label, path_bytes = "not UTF-8", b"\xff\xfe" + good[:50]
    else:
        label, text = _mutations(json.loads(good))[how % len(_mutations(json.loads(good)))]
        path_bytes = text.encode("utf-8")
    path.write_bytes(path_bytes)
    event(f"{kind}: {label}")
    _CORRUPTED[kind] = _CORRUPTED.get(kind, 0) + 1
    out = tmp_path_factory.mktemp("out")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("SAFETYNET_CACHE", str(cache))
        from coverage.maps import render

        render._skeleton.cache_clear()  # the skeleton is also kept in memory per process
        render._asset_urls.cache_clear()
        write_maps(hualien, out, offline=True, national=False)
    finally:
        mp.undo()
    assert pages(out) == expected, (name, label)
    assert json.loads(path.read_bytes()) == json.loads(good), (name, label)  # rewritten as computed


def test_every_kind_of_entry_was_corrupted():
    assert set(_CORRUPTED) == set(KINDS), _CORRUPTED


def test_unwritable_cache_costs_only_time(hualien, reference, tmp_path, monkeypatch):
    """SAFETYNET_CACHE naming a file (nothing can be written under it): the pages are the same."""
    expected, _, _ = reference
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("SAFETYNET_CACHE", str(blocker))
    write_maps(hualien, tmp_path / "out", offline=True, national=False)
    assert pages(tmp_path / "out") == expected


def test_other_polygons_do_not_find_the_old_entry(tmp_path, monkeypatch):
    """The display geometry is keyed by the polygons themselves: a township moved by 1 km gets its own
    entry and its own (moved) geometry, never the cached one."""
    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path))
    towns = load_townships()
    towns = towns[towns["county"] == "連江縣"].reset_index(drop=True)
    first = encoded_display(towns, 30.0, 20_000)
    moved = towns.copy()
    moved.loc[0, "geometry"] = shapely.affinity.translate(moved.geometry.iloc[0], xoff=0.01)
    second = encoded_display(moved, 30.0, 20_000)
    assert len(list((tmp_path / "maps").glob("display-*.json"))) == 2
    assert second["g"][0] != first["g"][0] and second["g"][1:] == first["g"][1:]
    assert encoded_display(towns, 30.0, 20_000) == first  # from the cache: the same as computed
    assert encoded_display(towns, 150.0, 20_000) != first  # another tolerance: another entry
