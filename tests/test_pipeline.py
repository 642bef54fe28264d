"""Tests of coverage.pipeline: run_coverage is its named steps."""

from __future__ import annotations

import pandas as pd


def test_run_coverage_is_its_steps(townships):
    from coverage.pipeline import BUNDLED_BOUNDARIES, measure_coverage, read_registries, run_coverage

    whole = run_coverage(counties=["嘉義縣"], as_of="2024-01-01", suppress_below=5)
    paths, registry = read_registries(None, townships)
    steps = measure_coverage(registry, townships, paths, as_of="2024-01-01", counties=["嘉義縣"])
    pd.testing.assert_frame_equal(whole.counties, steps.counties)
    pd.testing.assert_frame_equal(whole.gaps, steps.gaps)
    assert whole.boundaries == steps.boundaries == BUNDLED_BOUNDARIES
    assert (whole.suppress_below, steps.suppress_below) == (5, 3)
    assert whole.files == steps.files == [str(paths[0])]
