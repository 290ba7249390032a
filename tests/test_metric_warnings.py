"""The metric warnings of a run (unlearning.tables.warnings), on small hand-made tables."""

from __future__ import annotations

import pandas as pd

from unlearning.tables.warnings import collect_warnings, warnings_block

ACC = ("acc_test", "acc_forget", "acc_remain", "acc_class_0", "acc_class_1")


def _row(kind, method, setting="-", seed=0, condition="c", **acc):
    values = dict.fromkeys(ACC, 0.9) | acc
    return {
        "dataset": "d",
        "seed": seed,
        "condition": condition,
        "model_kind": kind,
        "method": method,
        "setting": setting,
        "num_classes": 2,
        "mia_efficacy": 0.5,
        **values,
    }


def test_clean_table_has_no_warnings():
    df = pd.DataFrame(
        [
            _row("original", "original"),
            _row("retrain", "retrain", acc_forget=0.1),
            _row("unlearned", "psg", "default", acc_forget=0.2),
        ]
    )
    assert not collect_warnings(df)


def test_retrain_far_above_the_original_is_a_reference_problem():
    df = pd.DataFrame(
        [
            _row("original", "original", acc_remain=0.7),
            _row("retrain", "retrain", acc_remain=0.95, acc_forget=0.1),
            _row("unlearned", "psg", "default", acc_forget=0.2),
        ]
    )
    found = collect_warnings(df)
    assert len(found.references) == 1 and "above the original" in found.references[0]
    assert found.for_condition("d", "c")[0].startswith("reference problem:")


def test_unchanged_needs_every_accuracy_in_every_seed():
    rows = []
    for seed in (0, 1):
        rows += [_row("original", "original", seed=seed), _row("retrain", "retrain", seed=seed)]
        # same accuracies (MIA differs: not compared), and 0.05 points off on one class
        rows.append(_row("unlearned", "ssd", "default", seed=seed, acc_class_1=0.9005))
        rows.append(_row("unlearned", "salun", "default", seed=seed))
    rows[-1]["acc_class_0"] = 0.89  # seed 1 of salun moved one class by a point
    df = pd.DataFrame(rows)
    df.loc[df["method"] == "ssd", "mia_efficacy"] = 0.9
    found = collect_warnings(df)
    assert found.unchanged_runs == {("d", "c"): {"ssd/default"}}


def test_collapsed_models_and_the_terminal_block(tmp_path):
    df = pd.DataFrame(
        [
            _row("original", "original"),
            _row("retrain", "retrain", acc_forget=0.1),
            _row("unlearned", "grad_ascent", "lr=0.1", acc_test=0.5, acc_remain=0.5),
        ]
    )
    found = collect_warnings(df)
    assert found.collapsed_runs == {("d", "c"): {"grad_ascent/lr=0.1"}}
    csv = tmp_path / "metrics.csv"
    df.to_csv(csv, index=False)
    block = warnings_block(csv)
    assert "Collapsed" in block and "grad_ascent/lr=0.1 (50%)" in block
    assert warnings_block(tmp_path / "missing.csv") == ""


def test_front_page_keeps_every_line_within_what_docutils_reads(tmp_path):
    """A full config's summary table is one long line of HTML; docutils refuses lines over
    10,000 characters and the report's first page then shows an error instead of the tables."""
    from docutils.core import publish_parts

    from unlearning.tables.front import front_page

    rows = "".join(f"<tr><td>method_{i}</td><td>{'9' * 60}</td></tr>" for i in range(400))
    page = tmp_path / "d" / "c" / "summary.html"
    page.parent.mkdir(parents=True)
    page.write_text(f"<html><body><h3>d, c</h3><table>{rows}</table></body></html>")
    text = front_page(pd.DataFrame([_row("original", "original")]), tmp_path, "Description.")
    assert len(rows) > 10_000 and max(len(line) for line in text.splitlines()) < 10_000
    rst = text.replace("{% raw %}", "").replace("{% endraw %}", "")
    html = publish_parts(rst, writer_name="html", settings_overrides={"report_level": 2})
    assert "System Message" not in html["body"] and "method_399" in html["body"]
