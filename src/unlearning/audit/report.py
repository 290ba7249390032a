"""The audit's table and ROC figure, from the confidences its jobs saved (torch-free).

One row per attacked model kind, each against the split's retrain (the "retrained" hypothesis):

- ``retrain``, the sanity row: a second retrain of every split, with other seeds, stands in for
  the unlearned model, so both hypotheses are the same distribution and the attack should be at
  chance (AUC ≈ 0.5);
- every audited method setting;
- ``original``, the upper reference: no unlearning at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from unlearning.atomic import write_text
from unlearning.audit.ulira import LOW_FPRS, AttackResult, u_lira
from unlearning.errors import UserError
from unlearning.methods.registry import resolved_params
from unlearning.tables.selection import method_label

#: The sanity row's AUC must lie within this of 0.5 for the audit to call the attack calibrated.
SANITY_TOLERANCE = 0.1
RETRAINED = "retrain"
SANITY, UPPER = "retrain_again", "original"
ROLES = {SANITY: "sanity (retrain vs retrain)", UPPER: "upper reference (no unlearning)"}
HINT = "rerun the audit jobs (snakemake --configfile <config> --cores all audit)"


def _fpr_column(fpr: float) -> str:
    return f"tpr_at_{fpr * 100:g}pct_fpr"


def _load(paths: list[str], models: list[dict[str, str]]) -> dict[tuple[str, str], np.ndarray]:
    """(model, split) -> confidences; every file must describe the same forget examples."""
    from unlearning.plots.common import load_npz

    if len(paths) != len(models):
        raise ValueError("one model description per confidence file")
    out, forget = {}, None
    for path, model in zip(paths, models, strict=True):
        arrays = load_npz(path, "Confidence file", HINT, ("forget", "confidence"))
        if forget is None:
            forget = arrays["forget"]
        elif not np.array_equal(arrays["forget"], forget):
            raise UserError(
                f"Confidence file {path} describes other forget examples than the rest of the "
                f"audit; delete the audit's results and {HINT}."
            )
        out[model["model"], model["split"]] = arrays["confidence"]
    return out


def _stack(confidences: dict, model: str, splits: list[str]) -> np.ndarray:
    return np.stack([confidences[model, split] for split in splits])


def _rows(audited: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Row descriptions in table order: the sanity row, the audited settings, the original."""
    rows = [{"model": SANITY, "method": "retrain", "setting": "-", "formulation": ""}]
    for entry in audited:
        params = resolved_params(entry["method"], entry["params"])
        rows.append(
            {
                "model": f"{entry['method']}/{entry['setting']}",
                "method": entry["method"],
                "setting": entry["setting"],
                "formulation": str(params.get("formulation") or ""),
            }
        )
    rows.append({"model": UPPER, "method": "original", "setting": "-", "formulation": ""})
    labels = [method_label(r["method"], r["formulation"]) for r in rows]
    for row, label in zip(rows, labels, strict=True):
        repeated = labels.count(label) > 1
        row["label"] = f"{label} {row['setting']}" if repeated else label
        row["role"] = ROLES.get(row["model"], "audited")
    return rows


def _split_spread(confidences: np.ndarray) -> float:
    """Standard deviation over models (rows) of their mean confidence on the forget set."""
    return float(confidences.mean(axis=1).std(ddof=1))


def attack_table(
    confidences: dict[tuple[str, str], np.ndarray],
    rows: list[dict[str, Any]],
    shadows: list[str],
    targets: list[str],
) -> tuple[pd.DataFrame, dict[str, AttackResult]]:
    """U-LiRA for every row: its metrics (one table row each) and its scores.

    Besides the attack's metrics, each row gives the mean confidence of its model and of the
    retrain on the target splits, and the spread between splits (the standard deviation over
    every split of a model's mean confidence): a method whose effect varies from split to split
    more than a retrain does needs more target splits for a stable AUC."""
    retrained = _stack(confidences, RETRAINED, shadows), _stack(confidences, RETRAINED, targets)
    retrain_spread = _split_spread(np.concatenate(retrained))
    records, results = [], {}
    for row in rows:
        unlearned = _stack(confidences, row["model"], targets)
        shadow = _stack(confidences, row["model"], shadows)
        result = u_lira(shadow, retrained[0], unlearned, retrained[1])
        results[row["label"]] = result
        records.append(
            {
                **{k: row[k] for k in ("method", "setting", "formulation", "label", "role")},
                "auc": result.auc,
                "balanced_accuracy": result.balanced_accuracy,
                **{_fpr_column(f): tpr for f, tpr in result.tpr_at_low_fpr.items()},
                "confidence_unlearned": float(unlearned.mean()),
                "confidence_retrained": float(retrained[1].mean()),
                "split_spread_unlearned": _split_spread(np.concatenate([shadow, unlearned])),
                "split_spread_retrained": retrain_spread,
            }
        )
    return pd.DataFrame.from_records(records), results


def _markdown(table: pd.DataFrame, dataset: str, shadows: int, targets: int, n: int) -> str:
    pairs = targets * n
    lines = [
        f"# U-LiRA audit: {dataset}",
        "",
        f"{shadows} shadow splits fit each of the {n} forget examples' Gaussians; {targets} "
        f"held-out target splits give {pairs} unlearned and {pairs} retrained scores per row. "
        "AUC 0.5 means the attack cannot tell the row's model from a retrain; balanced accuracy "
        "is at a likelihood ratio of 1; the lowest false-positive rate it can resolve is "
        f"1/{pairs}. `confidence` columns are mean logit-scaled confidences log(p/(1-p)) of the "
        "true class on the target splits, ± the standard deviation of a model's mean between "
        "splits (a method that varies far more than the retrain needs more target splits).",
        "",
        "| "
        + " | ".join(
            ["model", "role", "AUC", "balanced acc."]
            + [f"TPR @ {fpr * 100:g}% FPR" for fpr in LOW_FPRS]
            + ["confidence (model)", "confidence (retrain)"]
        )
        + " |",
        "|---" * (6 + len(LOW_FPRS)) + "|",
    ]
    rates = ["auc", "balanced_accuracy", *(_fpr_column(f) for f in LOW_FPRS)]
    for row in table.to_dict("records"):
        cells = [row["label"], row["role"], *(f"{row[c]:.3f}" for c in rates)]
        cells += [
            f"{row[f'confidence_{side}']:.2f} ± {row[f'split_spread_{side}']:.2f}"
            for side in ("unlearned", "retrained")
        ]
        lines.append("| " + " | ".join(cells) + " |")
    sanity = float(table.loc[table["method"] == "retrain", "auc"].iloc[0])
    verdict = "within" if abs(sanity - 0.5) <= SANITY_TOLERANCE else "OUTSIDE (use more splits)"
    lines += [
        "",
        f"Sanity: the retrain-vs-retrain AUC is {sanity:.3f}, {verdict} 0.5 ± {SANITY_TOLERANCE}.",
        "",
    ]
    return "\n".join(lines)


def _figure(results: dict[str, AttackResult], rows: list[dict[str, Any]], stem: str | Path):
    from matplotlib.figure import Figure

    from unlearning.plots.common import (
        COLUMN_WIDTH,
        ORIGINAL_COLOUR,
        RETRAIN_COLOUR,
        method_styles,
        paper_style,
        save_figure,
    )

    audited = [r for r in rows if r["role"] == "audited"]
    styles = method_styles([r["label"] for r in audited])
    with paper_style():
        fig = Figure(figsize=(2 * COLUMN_WIDTH, 2.8), layout="constrained")
        linear, logs = fig.subplots(1, 2)
        for row in rows:
            fpr, tpr = results[row["label"]].roc()
            colour = {SANITY: RETRAIN_COLOUR, UPPER: ORIGINAL_COLOUR}.get(
                row["model"], styles.get(row["label"], {}).get("color")
            )
            style = "--" if row["role"] != "audited" else "-"
            label = f"{row['label']} ({results[row['label']].auc:.2f})"
            for ax in (linear, logs):
                ax.plot(fpr, tpr, style, color=colour, lw=1.2, label=label, drawstyle="steps-post")
        for ax in (linear, logs):
            ax.plot([0, 1], [0, 1], ":", color="0.6", lw=0.8)
            ax.set_xlabel("false-positive rate")
        floor = min(1 / len(r.scores_retrained.ravel()) for r in results.values())
        logs.set(xscale="log", yscale="log", xlim=(floor, 1), ylim=(floor, 1))
        linear.set(xlim=(0, 1), ylim=(0, 1), ylabel="true-positive rate")
        linear.set_title("U-LiRA ROC", fontsize="medium")
        logs.set_title("log scale (low false-positive rates)", fontsize="medium")
        linear.legend(title="model (AUC)", fontsize="x-small", title_fontsize="x-small")
        return save_figure(fig, stem)


def audit_report(
    confidence_paths: list[str],
    models: list[dict[str, str]],
    shadows: list[str],
    targets: list[str],
    audited: list[dict[str, Any]],
    out_csv: str | Path,
    out_md: str | Path,
    figure_stem: str | Path,
    *,
    dataset: str,
) -> str:
    """The audit table (CSV and Markdown) and its ROC figure (``<stem>.png``, ``<stem>.pdf``).

    ``models`` says which model (``original``, ``retrain``, ``retrain_again`` or
    ``method/setting``) and split each of ``confidence_paths`` belongs to; ``audited`` lists the
    audited settings (``method``, ``setting``, ``params``) in table order."""
    confidences = _load(confidence_paths, models)
    rows = _rows(audited)
    table, results = attack_table(confidences, rows, shadows, targets)
    n = len(next(iter(confidences.values())))
    table.insert(0, "dataset", dataset)
    for key, value in (("shadows", len(shadows)), ("targets", len(targets)), ("forget_size", n)):
        table[key] = value
    with_fpr = [_fpr_column(f) for f in LOW_FPRS]
    table = table[
        ["dataset", "method", "setting", "formulation", "label", "role", "auc"]
        + ["balanced_accuracy", *with_fpr, "confidence_unlearned", "confidence_retrained"]
        + ["split_spread_unlearned", "split_spread_retrained"]
        + ["shadows", "targets", "forget_size"]
    ]
    write_text(out_csv, table.to_csv(index=False, float_format="%.6g"))
    write_text(out_md, _markdown(table, dataset, len(shadows), len(targets), n))
    _figure(results, rows, figure_stem)
    aucs = ", ".join(f"{r.label} {r.auc:.3f}" for r in table.itertuples())
    return f"U-LiRA AUC: {aucs}"
