"""Fixtures of the figure tests (helpers they import live in ``figure_checks``)."""

from __future__ import annotations

import pandas as pd
import pytest
import synthetic_results as sr

from unlearning.tables import read_metrics_csv


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> pd.DataFrame:
    """The synthetic table as the figure rules read it: written to CSV and read back."""
    path = tmp_path_factory.mktemp("metrics") / "metrics.csv"
    sr.write_metrics_csv(path)
    return read_metrics_csv(path)
