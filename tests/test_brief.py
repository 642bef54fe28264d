"""The planning-meeting brief (coverage.brief, `safetynet brief`): PDF and PPTX read back and rendered."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from coverage.brief import roc_date, write_brief
from coverage.errors import CoverageError, InputError
from coverage.pipeline import run_coverage
from coverage.plan import load_targets

from .conftest import require


@pytest.fixture(scope="module")
def tools():
    from coverage.charts import cjk_font

    try:
        cjk_font()
        font = True
    except CoverageError:
        font = False
    require(font, "no CJK font installed (fonts-noto-cjk) for the brief")
    require(shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None,
            "poppler-utils (pdftotext, pdftoppm) not installed")


@pytest.fixture(scope="module")
def chiayi_brief(tools, tmp_path_factory, request):
    from .conftest import SHARED_DATA

    out = tmp_path_factory.mktemp("brief")
    population = SHARED_DATA / "population" / "village_population_agegroups_2021-03.csv"
    require(population.exists(), f"real population data not available: {population}")
    report = run_coverage(counties=["嘉義縣"], population=population, as_of="2024-01-01")
    return report, write_brief(report, out, "嘉義縣", targets=load_targets()), out


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _pptx_slides(path):
    from pptx import Presentation

    return list(Presentation(str(path)).slides)


def _slide_text(slide) -> str:
    parts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if shape.has_table:
            parts += [cell.text for row in shape.table.rows for cell in row.cells]
    return "\n".join(parts)


def test_figures_in_both_files(chiayi_brief):
    _, paths, _ = chiayi_brief
    pdf = _pdf_text(paths["pdf"])
    deck = "\n".join(_slide_text(s) for s in _pptx_slides(paths["pptx"]))
    for text in (pdf, deck):
        assert "94.4%" in text and "17/18" in text and "阿里山鄉" in text
        assert "民國113年1月1日" in text
        assert "山地原住民鄉" in text  # the gap's flag
        assert "無資料" in text  # 精障協作據點: no data, not 0%
        assert "優先補點" in text and "建議新增據點" in text and "資料品質" in text
    assert paths["pptx"].name == "嘉義縣_brief.pptx" and paths["pdf"].name == "嘉義縣_brief.pdf"


def test_tables_are_native_and_pages_match_slides(chiayi_brief):
    _, paths, _ = chiayi_brief
    slides = _pptx_slides(paths["pptx"])
    assert sum(shape.has_table for s in slides for shape in s.shapes) >= 5
    assert sum(shape.shape_type == 13 for s in slides for shape in s.shapes) >= 3  # map pictures
    pages = _pdf_text(paths["pdf"]).count("\f")
    assert pages == len(slides) >= 9


def test_every_page_renders_non_blank(chiayi_brief, tmp_path):
    import matplotlib.image

    _, paths, _ = chiayi_brief
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(paths["pdf"]), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(_pptx_slides(paths["pptx"]))
    for page in pages:
        img = matplotlib.image.imread(page)
        height, width = img.shape[:2]
        assert width > height  # A4 landscape
        assert (img[..., :3].mean(axis=2) < 0.5).sum() > 200, page.name  # ink on every page


def test_identical_inputs_identical_bytes(chiayi_brief, tmp_path):
    report, paths, _ = chiayi_brief
    again = write_brief(report, tmp_path, "嘉義縣", targets=load_targets())
    assert again["pdf"].read_bytes() == paths["pdf"].read_bytes()
    assert again["pptx"].read_bytes() == paths["pptx"].read_bytes()


def test_national_brief_and_errors(tools, tmp_path):
    report = run_coverage(as_of="2024-01-01")
    paths = write_brief(report, tmp_path, targets=load_targets(), siting=False)
    text = _pdf_text(paths["pdf"])
    assert paths["pdf"].name == "全國_brief.pdf"
    assert "全國" in text and "社會福利服務中心" in text and "157" in text
    with pytest.raises(InputError, match="county='高雄市'"):
        write_brief(run_coverage(counties=["嘉義縣"]), tmp_path, "高雄市")
    import pandas as pd

    assert roc_date(pd.Timestamp("2024-01-05")) == "民國113年1月5日"


def test_brief_command(tools, tmp_path):
    from typer.testing import CliRunner

    from coverage.cli import app

    result = CliRunner().invoke(app, ["brief", "--county", "嘉義市", "--out", str(tmp_path), "--as-of", "2024-01-01"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "嘉義市_brief.pdf").exists() and (tmp_path / "嘉義市_brief.pptx").exists()
    assert "2/2" in _pdf_text(tmp_path / "嘉義市_brief.pdf")
