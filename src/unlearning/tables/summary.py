"""The human-readable summary: one Markdown table per dataset and forget condition.

Built only from the long metrics table, so it can never disagree with ``metrics.csv``.
"""

from __future__ import annotations

import math
import os

import pandas as pd

from unlearning.atomic import write_text
from unlearning.tables.collect import MODEL_KIND_ORDER

#: Numeric metrics shown in the summary, in column order: (metrics key, header, kind).
SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("acc_test", "test acc", "percent"),
    ("acc_forget", "forget acc", "percent"),
    ("acc_remain", "remain acc", "percent"),
    ("mia_efficacy", "MIA efficacy", "percent"),
    ("gap_mean", "gap to retrain", "percent"),
    ("unlearn_seconds", "unlearning s", "seconds"),
    ("seconds_ratio", "× retrain s", "ratio"),
)

GROUP_COLUMNS: tuple[str, ...] = ("dataset", "condition", "model_kind", "method", "setting")
MISSING = "—"


def _row_order(table: pd.DataFrame) -> pd.DataFrame:
    """Reference models first, then methods by name, each method's default setting first."""
    kind_rank = {kind: i for i, kind in enumerate(MODEL_KIND_ORDER)}
    keys = pd.DataFrame(
        {
            "dataset": table["dataset"],
            "condition": table["condition"],
            "kind": table["model_kind"].map(lambda k: kind_rank.get(k, len(kind_rank))),
            "method": table["method"],
            "not_default": table["setting"] != "default",
            "setting": table["setting"],
        }
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return table.loc[order].reset_index(drop=True)


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Aggregate over seeds: per model, ``<metric>_mean``, ``<metric>_std``, ``<metric>_n``.

    Means skip missing seeds (a null is not a zero); a metric missing in every seed stays NaN.
    ``n_seeds`` counts the seeds of a row and ``mia_feature`` names the MIA feature(s) used.
    """
    if df.empty:
        return pd.DataFrame(columns=[*GROUP_COLUMNS, "n_seeds", "mia_feature"])
    work = df.copy()
    for key, _, _ in SUMMARY_METRICS:
        if key not in work.columns:
            work[key] = math.nan
        work[key] = pd.to_numeric(work[key], errors="coerce").astype("float64")
    if "mia_feature" not in work.columns:
        work["mia_feature"] = None
    grouped = work.groupby(list(GROUP_COLUMNS), sort=False, dropna=False)
    parts: dict[str, pd.Series] = {"n_seeds": grouped["seed"].nunique()}
    for key, _, _ in SUMMARY_METRICS:
        parts[f"{key}_mean"] = grouped[key].mean()
        parts[f"{key}_std"] = grouped[key].std(ddof=1)
        parts[f"{key}_n"] = grouped[key].count()
    parts["mia_feature"] = grouped["mia_feature"].agg(
        lambda s: "/".join(sorted({str(v) for v in s.dropna()})) or None
    )
    table = pd.DataFrame(parts).reset_index()
    return _row_order(table)


def _significant_decimals(value: float, figures: int = 2) -> int:
    """Decimals that show ``figures`` significant figures in fixed-point (no 1e-3 notation)."""
    if value == 0:
        return figures - 1
    return max(0, figures - 1 - math.floor(math.log10(abs(value))))


def _scale_and_decimals(value: float, kind: str) -> tuple[float, int]:
    if kind == "percent":
        return 100.0, 1
    if kind == "seconds":
        return 1.0, 1 if abs(value) >= 1 else _significant_decimals(value)
    if kind == "ratio":
        return 1.0, 2 if abs(value) >= 1 else _significant_decimals(value)
    raise ValueError(f"unknown format kind {kind!r}")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value: float, kind: str) -> str:
    """Format one number for humans; missing values become an em dash.

    ``percent``: fraction shown as % with 1 decimal; ``seconds``: 1 decimal, or 2 significant
    figures below 1; ``ratio``: 2 decimals, or 2 significant figures below 1.
    """
    if _missing(value):
        return MISSING
    scale, decimals = _scale_and_decimals(value, kind)
    return f"{scale * value:.{decimals}f}"


def format_cell(mean: float, std: float, count: int, kind: str) -> str:
    """``mean`` alone, or ``mean ± std`` (same decimals) when more than one seed has a value."""
    if _missing(mean):
        return MISSING
    scale, decimals = _scale_and_decimals(mean, kind)
    text = f"{scale * mean:.{decimals}f}"
    if count < 2 or _missing(std):
        return text
    return f"{text} ± {scale * std:.{decimals}f}"


def _escape(text: object) -> str:
    return str(text).replace("|", "\\|")


def _seed_note(section: pd.DataFrame, features: str) -> str:
    counts = sorted(set(section["n_seeds"].astype(int)))
    if len(counts) == 1:
        seeds = f"Mean ± std over {counts[0]} seeds" if counts[0] > 1 else "One seed"
    else:
        seeds = f"Mean ± std over {counts[0]}–{counts[-1]} seeds (rows differ)"
    feature = f"MIA feature: {features}" if features else "MIA feature: not recorded"
    return (
        f"{seeds}. Accuracies, MIA efficacy and gap to retrain in %; times in seconds; "
        f"{feature}; {MISSING} = not available."
    )


def summary_markdown(df: pd.DataFrame) -> str:
    """Render the per-(dataset, condition) Markdown tables from the long metrics table."""
    table = summary_table(df)
    lines = ["# Unlearning results", ""]
    if table.empty:
        lines.append("No metrics were collected.")
        return "\n".join(lines) + "\n"
    sections = table.groupby(["dataset", "condition"], sort=False, dropna=False)
    for (dataset, condition), section in sections:
        features = "/".join(
            sorted({f for v in section["mia_feature"].dropna() for f in str(v).split("/")})
        )
        headers = ["method", "setting"]
        for key, header, _ in SUMMARY_METRICS:
            headers.append(
                f"{header} ({features})" if key == "mia_efficacy" and features else header
            )
        aligns = ["---", "---"] + ["---:"] * len(SUMMARY_METRICS)
        lines += [f"### {dataset} — {condition}", ""]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "|".join(aligns) + "|")
        for record in section.to_dict("records"):
            cells = [_escape(record["method"]), _escape(record["setting"])]
            for key, _, kind in SUMMARY_METRICS:
                cells.append(
                    format_cell(
                        record[f"{key}_mean"], record[f"{key}_std"], record[f"{key}_n"], kind
                    )
                )
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", _seed_note(section, features), ""]
    return "\n".join(lines)


def write_summary(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write :func:`summary_markdown` to ``path`` atomically."""
    write_text(path, summary_markdown(df))
