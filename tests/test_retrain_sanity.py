"""A retrain far below the original on remain accuracy is flagged as an unreliable reference."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
import synthetic_results as synthetic

from unlearning.tables import write_tables
from unlearning.tables.summary import (
    RETRAIN_REMAIN_DROP_LIMIT,
    retrain_remain_drops,
    unreliable_references,
)

BAD, FINE = "class_1", "class_1_frac25"  # retrain 12 and 5 points below the original
DROPS = {BAD: 0.12, FINE: 0.05}


def _metrics() -> pd.DataFrame:
    df = synthetic.metrics_table()
    original = df["model_kind"] == "original"
    for condition, drop in DROPS.items():
        for seed in synthetic.SEEDS:
            rows = (df["condition"] == condition) & (df["seed"] == seed)
            value = df.loc[rows & original, "acc_remain"].iloc[0] - drop
            df.loc[rows & (df["model_kind"] == "retrain"), "acc_remain"] = value
    return df


def test_threshold_is_ten_points():
    assert RETRAIN_REMAIN_DROP_LIMIT == pytest.approx(0.10)


def test_drops_are_per_seed_against_the_original():
    drops = retrain_remain_drops(_metrics()).set_index(["condition", "seed"])
    for condition, drop in DROPS.items():
        for seed in synthetic.SEEDS:
            assert drops.loc[(condition, seed), "drop"] == pytest.approx(drop)
    assert drops.loc[("class_1_frac50", 0), "drop"] == pytest.approx(0.01)


def test_warning_names_dataset_condition_and_both_accuracies(caplog):
    df = _metrics()
    with caplog.at_level(logging.WARNING, logger="unlearning.tables.summary"):
        notes = unreliable_references(retrain_remain_drops(df))
    assert set(notes) == {(synthetic.DATASET, BAD)}
    assert "12.0 points below" in notes[(synthetic.DATASET, BAD)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    bad = df[(df["condition"] == BAD) & (df["seed"] == 0)].set_index("model_kind")
    assert synthetic.DATASET in message and BAD in message and FINE not in message
    assert f"{100 * bad.loc['original', 'acc_remain']:.1f}%" in message
    assert f"{100 * bad.loc['retrain', 'acc_remain']:.1f}%" in message
    assert "12.0 points" in message


def test_no_warning_within_the_limit(caplog):
    df = _metrics()
    df = df[df["condition"] != BAD]
    with caplog.at_level(logging.WARNING, logger="unlearning.tables.summary"):
        assert unreliable_references(retrain_remain_drops(df)) == {}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_tables_mark_only_the_unreliable_condition(tmp_path, caplog):
    out = tmp_path / "tables"
    with caplog.at_level(logging.WARNING, logger="unlearning.tables.summary"):
        write_tables(_metrics(), out, out / "html")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and BAD in warnings[0].getMessage()
    for name in ("summary", "psg_grid"):
        csv = pd.read_csv(out / f"{name}.csv", keep_default_na=False, na_values=[""])
        flags = csv.groupby("condition")["unreliable_reference"].agg(set)
        assert flags[BAD] == {True} and flags[FINE] == {False}
        drops = csv.groupby("condition")["retrain_remain_drop"].max()
        assert drops[BAD] == pytest.approx(0.12) and drops[FINE] == pytest.approx(0.05)

        markdown = (out / f"{name}.md").read_text()
        sections = dict((part.split("\n", 1)[0], part) for part in markdown.split("### toy — ")[1:])
        assert "Unreliable reference" in sections[BAD]
        assert "12.0 points below the original" in sections[BAD]
        assert "Unreliable reference" not in sections[FINE]
        assert "Unreliable reference" not in sections["class_1_frac50"]

        latex = (out / f"{name}.tex").read_text()
        assert latex.count("Unreliable reference") == 1
        html = (out / "html/toy" / BAD / f"{name}.html").read_text()
        assert "Unreliable reference" in html
        assert "Unreliable reference" not in (out / "html/toy" / FINE / f"{name}.html").read_text()
