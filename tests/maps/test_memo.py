"""Speed without changed bytes (issue 16): work shared by the maps of a run, folium's page skeleton, the
web-asset texts read from folium-offline's source.

Each shortcut is checked against the long way it replaces: the same pages as maps drawn one by one, the
same page as folium's whole render, the same texts as importing folium-offline.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import coverage.maps.render as render
from coverage.maps import map_payload, page_css, render_map, shared, sharing, to_script_json, write_maps
from coverage.pipeline import run_coverage

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# coverage.maps.memo


def test_shared_keeps_values_only_inside_sharing():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    table, other = object(), object()
    assert shared("n", (table,), compute) == 1 and shared("n", (table,), compute) == 2  # nothing kept outside
    with sharing():
        first = shared("n", (table,), compute)
        assert shared("n", (table,), compute) == first  # same name, same inputs: computed once
        assert shared("n", (other,), compute) != first  # other inputs (by identity): computed again
        assert shared(("n", 2), (table,), compute) != first  # another name
        with sharing():  # a block inside joins the outer one
            assert shared("n", (table,), compute) == first
    assert shared("n", (table,), compute) == len(calls)  # the block is over: computed afresh


def test_shared_keeps_its_inputs_alive():
    """A value is found by the ids of its inputs: the inputs are kept, so no new object takes an old id."""
    with sharing():
        value = shared("frame", ([1, 2],), lambda: "first")
        for _ in range(200):  # objects made and dropped: none may reuse the id of the first input
            assert shared("frame", ([3, 4],), lambda: "other") == "other"
        assert value == "first"


@pytest.fixture(scope="module")
def hualien():
    """花蓮縣 (service areas split by village, 秀林鄉) and 連江縣, national registry."""
    return run_coverage(counties=["花蓮縣", "連江縣"], as_of="2026-12-01")


@pytest.mark.parametrize("level", ["township", "village"])
def test_pages_of_a_run_are_the_pages_drawn_alone(hualien, tmp_path, level):
    """write_maps shares the work of its maps (memo.sharing); each page is byte for byte the page
    render_map draws for that county alone, outside any sharing."""
    paths = write_maps(hualien, tmp_path, level=level, offline=True, national=False)
    for county in ("花蓮縣", "連江縣"):
        alone = render_map(hualien, county, level=level, basemap="none", offline=True, index_href="index.html")
        assert paths[county].read_text(encoding="utf-8") == alone, county
    payload = map_payload(hualien, "花蓮縣", level=level)
    assert payload.get("areas"), "the fixture lost its service areas: the shared catchments are not exercised"
    assert any(a["vi"] or a["g"] for a in payload["areas"]) or level == "township"


def test_national_page_of_a_run_is_the_page_drawn_alone(tmp_path):
    """The national map and a county map of one run (shared projection, tooltips, popups) equal those
    drawn alone."""
    report = run_coverage(as_of="2026-12-01")
    paths = write_maps(report, tmp_path, offline=True)
    assert paths["taiwan"].read_text(encoding="utf-8") == render_map(report, None, basemap="none",
                                                                     index_href="index.html")
    assert paths["臺東縣"].read_text(encoding="utf-8") == render_map(report, "臺東縣", basemap="none",
                                                                   index_href="index.html")


# ---------------------------------------------------------------------------------------------
# folium's page skeleton, filled in per map


@pytest.fixture(scope="module")
def page_parts(hualien):
    payload = map_payload(hualien, "連江縣")
    return page_css(payload), to_script_json(payload)


@pytest.mark.parametrize("offline", [True, False, "inline"])
@pytest.mark.parametrize(("zoom", "basemap"), [(10, "osm"), (7, "none"), (10, "nlsc")])
def test_filled_skeleton_is_folium_s_page(page_parts, zoom, basemap, offline):
    css, data = page_parts
    options = {"location": [26.15995, 119.95], "zoom": zoom, "basemap": basemap, "offline": offline,
               "title": "連江縣 社會安全網服務據點涵蓋地圖（2026-12-01）", "css": css, "data": data}
    assert render._skeleton(zoom, basemap, offline) is not None  # the fast way is taken
    assert render._page_html(**options) == render._folium_page(**options)


_VERBATIM = {"skeleton": 0, "folium whole": 0}


@settings(max_examples=30, deadline=None)
@given(title=st.text(alphabet=st.sampled_from("地圖ab<>&{}%#\r\n \"'"), max_size=30),
       css=st.text(alphabet=st.sampled_from("ab{}%#;:\r\n \\"), max_size=40),
       lat=st.floats(21.5, 26.5), lon=st.floats(118.0, 122.5))
def test_filled_skeleton_is_folium_s_page_for_any_text(page_parts, title, css, lat, lon):
    """Any title and stylesheet (Jinja delimiters, carriage returns, braces) and any centre: the page is
    folium's, byte for byte; text folium would not keep verbatim takes folium's whole render."""
    _, data = page_parts
    options = {"location": [lat, lon], "zoom": 10, "basemap": "none", "offline": True, "title": title,
               "css": css, "data": data}
    verbatim = bool(title) and not any(mark in css for mark in ("{{", "{%", "{#", "\r"))
    _VERBATIM["skeleton" if verbatim else "folium whole"] += 1
    event("skeleton" if verbatim else "folium whole")

    def outcome(draw):  # the page, or the error folium raises (e.g. a Jinja tag it cannot parse)
        try:
            return draw(**options)
        except Exception as exc:
            return (type(exc), str(exc))

    assert outcome(render._page_html) == outcome(render._folium_page)


def test_both_ways_were_exercised():
    assert _VERBATIM["skeleton"] > 0 and _VERBATIM["folium whole"] > 0, _VERBATIM


# ---------------------------------------------------------------------------------------------
# the web-asset texts, from folium-offline's source


def test_asset_texts_are_those_of_folium_offline_without_importing_it(tmp_path):
    """The texts read from the source equal folium-offline's own table; neither it nor folium.plugins is
    imported (a fresh interpreter, an empty disk cache: the texts are read from the source)."""
    import os

    code = ("import sys, json; from coverage.maps.render import _asset_texts, _asset_urls; t = _asset_texts(); "
            "print(json.dumps([sorted(t), 'offlinefolium' in sys.modules, 'folium.plugins' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                         env={**os.environ, "SAFETYNET_CACHE": str(tmp_path)})
    names, offline_imported, plugins_imported = json.loads(out.stdout)
    assert names == sorted(["leaflet.js", "leaflet.css", "leaflet.markercluster.js", "MarkerCluster.css"])
    assert not offline_imported and not plugins_imported
    from folium.plugins import MarkerCluster
    from offlinefolium.elements import _res

    urls = render._asset_urls()
    assert urls["leaflet.markercluster.js"] == dict(MarkerCluster.default_js)["markerclusterjs"]
    assert urls["MarkerCluster.css"] == dict(MarkerCluster.default_css)["markerclustercss"]
    texts = render._asset_texts()
    for name, url in urls.items():
        assert texts[name] == _res[url], name


def test_asset_texts_fall_back_on_the_import(monkeypatch):
    """A source that cannot be read so (no such statement) makes the texts come from the import, the same."""
    expected = render._asset_texts()
    monkeypatch.setattr(render, "_bundled_texts", lambda path, urls: None)
    monkeypatch.setattr(render, "_cached_assets", lambda: None)  # not from the disk cache either
    assert render._asset_texts() == expected


_LITERALS = {"ends": 0, "no literal": 0}


@settings(max_examples=300, deadline=None)
@example(body='a"""', quote='"""', tail="\\\n\n")  # a backslash joins an empty line: still a lone literal
@example(body="a'''", quote="'''", tail="\\\n+ x\n")  # ... not when the joined line goes on
@given(body=st.text(alphabet=st.sampled_from("a'\"\\\n#"), max_size=14), quote=st.sampled_from(["'''", '"""']),
       tail=st.sampled_from(["\n", "  # note\n", " + x\n", "\n'''", ""]))
def test_triple_quoted_reads_as_python_does(body, quote, tail):
    """The literal found in the source is the one Python's tokenizer reads there (or none, when the
    statement is not a lone literal)."""
    source = quote + body + tail
    ours = render._triple_quoted(source, 0)
    tokens: list[tokenize.TokenInfo] = []
    try:  # the first statement only: what follows its line may not tokenize
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            tokens.append(token)
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or len(tokens) > 4:
                break
    except (tokenize.TokenError, SyntaxError):
        tokens = []
    first = tokens[0] if tokens else None
    rest = [t for t in tokens[1:] if t.type != tokenize.COMMENT]
    lone = (first is not None and first.type == tokenize.STRING and first.string.startswith(quote)
            and rest and rest[0].type == tokenize.NEWLINE and rest[0].string == "\n")
    _LITERALS["ends" if ours is not None else "no literal"] += 1
    event("literal" if ours is not None else "none")
    if ours is not None:
        assert lone and ours == first.string, (source, ours)
    elif lone:  # python reads a lone literal: ours must too
        pytest.fail(f"missed the literal of {source!r}")


def test_triple_quoted_examples_reached_both_ends():
    assert _LITERALS["ends"] > 0 and _LITERALS["no literal"] > 0, _LITERALS
