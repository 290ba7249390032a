"""This run beside the paper's published numbers, cell by cell (rule ``reproduction_table``).

Every row of the published file (``config/published/nahass2025.csv``; config/README.md, "The
published numbers") becomes one row of the reproduction table: the published value, this run's
mean ± standard deviation over seeds of the same cell, their difference and a verdict. Values are
in points (accuracy × 100; the distance on the same scale). A cell is matched on its data set and
condition names, its method and the hyperparameters the published row states (``hp_*`` columns
of ``metrics.csv``):

- ``psg`` (the λ×γ heatmaps): psg runs with the row's γ, λ and φ and hard targets (those runs
  passed neither ``--use_logits`` nor ``--logit_preprocess``);
- the ablation variants, each the reference code's flags as psg hyperparameters (λ 0, as the
  ablation runs passed no ``--lamda``): ``Baseline`` hard targets and no remain term;
  ``R`` (``--remain_reg``) the remain term of weight φ on the remain labels; ``F``
  (``--use_logits``) the original's raw logits as forget targets and no remain term; ``R+F``
  both, where ``--use_logits`` also makes the remain targets the original's logits;
  ``R+F+Preprocess`` (``--logit_preprocess``) that with the top 3 logits kept;
- ``compose``: compose runs with the row's fine-tuning epochs (γ, λ and φ there describe the
  composed runs, not compose's own parameters);
- ``retrain``: the retrain references (several per seed are averaged within the seed first).

``R+F-Iter 80``, ``R+F-Iter 95`` and the dashed "original" lines of the composition figure name
no computation of the reference code (:data:`NOT_EXPRESSIBLE` says why) and are listed as not run
with that reason, as is every cell of a data set this run does not have. A cell that two or more
settings of this run match is listed as ambiguous rather than guessed.

Verdicts: *within tolerance* (|difference| ≤ the tolerance, in points), *within seed spread* (the
published value lies between this run's lowest and highest seed), *outside*, *ambiguous*, or
*not run*. No row is ever dropped.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from unlearning.atomic import atomic_path, write_text
from unlearning.errors import UserError

PUBLISHED_COLUMNS: tuple[str, ...] = (
    "figure",
    "panel",
    "dataset",
    "condition",
    "method_or_variant",
    "gamma",
    "lambda",
    "phi",
    "epochs",
    "metric",
    "value",
    "source_file",
    "source_line",
    "note",
)
#: The published row's identity, carried into the reproduction table as it is.
CELL_COLUMNS: tuple[str, ...] = PUBLISHED_COLUMNS[:10]
PARAMETERS: tuple[str, ...] = ("gamma", "lambda", "phi", "epochs")

#: A hyperparameter whose value is the published row's own (its γ, λ, φ or epochs column).
ROW = "row"
#: What each published method or ablation variant computes: one method of this pipeline and the
#: hyperparameters (``hp_*`` of metrics.csv) its runs must have; ROW takes the published row's
#: value, where it states one. config/README.md, "The published numbers", maps each to the
#: reference code's flags.
COMPUTATIONS: dict[str, tuple[str, dict[str, object]]] = {
    "psg": ("psg", {"gamma": ROW, "lambda": ROW, "phi": ROW, "targets": "hard"}),
    "Baseline": ("psg", {"gamma": ROW, "lambda": 0.0, "phi": 0.0, "targets": "hard"}),
    "R": (
        "psg",
        {"gamma": ROW, "lambda": 0.0, "phi": ROW, "targets": "hard", "remain_distill": False},
    ),
    "F": ("psg", {"gamma": ROW, "lambda": 0.0, "phi": 0.0, "targets": "soft", "top_k": 0}),
    "R+F": (
        "psg",
        {
            "gamma": ROW,
            "lambda": 0.0,
            "phi": ROW,
            "targets": "soft",
            "top_k": 0,
            "remain_distill": True,
        },
    ),
    "R+F+Preprocess": (
        "psg",
        {
            "gamma": ROW,
            "lambda": 0.0,
            "phi": ROW,
            "targets": "soft",
            "top_k": 3,
            "remain_distill": True,
        },
    ),
    "compose": ("compose", {"epochs": ROW}),
}
_NO_ITERATION_VARIANT = (
    "no option, argument or script of the reference code names an iteration variant (its "
    "number of iterations is always epochs x forget batches), and the published rows repeat "
    "the F row cell for cell"
)
#: Published rows that name no computation of the reference code, with the reason.
NOT_EXPRESSIBLE: dict[str, str] = {
    "R+F-Iter 80": _NO_ITERATION_VARIANT,
    "R+F-Iter 95": _NO_ITERATION_VARIANT,
    "original": "the dashed 'Original' lines are constants of the script that name no model",
}
#: Published reference lines that are a model kind of this pipeline.
REFERENCE_KINDS: dict[str, str] = {"retrain": "retrain"}

WITHIN_TOLERANCE = "within tolerance"
WITHIN_SPREAD = "within seed spread"
OUTSIDE = "outside"
AMBIGUOUS = "ambiguous"
NOT_RUN = "not run"
VERDICTS: tuple[str, ...] = (WITHIN_TOLERANCE, WITHIN_SPREAD, OUTSIDE, AMBIGUOUS, NOT_RUN)

#: Columns of the reproduction table after the published cell's own.
RESULT_COLUMNS: tuple[str, ...] = (
    "published",
    "run_mean",
    "run_std",
    "run_min",
    "run_max",
    "seeds",
    "difference",
    "verdict",
    "matched",
    "reason",
    "source_file",
    "source_line",
    "note",
)
POINTS = 100.0


def read_published(path: str | os.PathLike) -> pd.DataFrame:
    """The published numbers, checked for their columns and finite values."""
    path = Path(path)
    hint = (
        "set reproduction.published to a file with the columns of config/published/nahass2025.csv"
    )
    if not path.is_file():
        raise UserError(f"Published numbers {path} are missing; {hint}.")
    try:
        df = pd.read_csv(path, keep_default_na=False, dtype=str)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise UserError(f"Published numbers {path} are unreadable ({exc}); {hint}.") from exc
    missing = [c for c in PUBLISHED_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"Published numbers {path} lack the columns {missing}; {hint}.")
    for column in ("value", *PARAMETERS):
        text = df[column].str.strip()
        numbers = pd.to_numeric(text.replace("", "nan"), errors="coerce")
        bad = text.ne("") & ~np.isfinite(numbers)
        if column == "value":
            bad |= ~np.isfinite(numbers)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise UserError(
                f"Published numbers {path} hold {df[column].iloc[row - 2]!r} in column "
                f"{column} of line {row}, which is not a finite number; fix that line."
            )
        df[column] = numbers
    return df[list(PUBLISHED_COLUMNS)]


def _same(series: pd.Series, value: object) -> pd.Series:
    """Which entries of an ``hp_*`` column equal ``value`` (a number, a flag or a name)."""
    if isinstance(value, bool):
        text = series.astype(str).str.strip().str.lower()
        wanted = ("true", "1", "1.0") if value else ("false", "0", "0.0")
        return text.isin(wanted) & series.notna()
    if isinstance(value, str):
        return series.astype(str).eq(value) & series.notna()
    numbers = pd.to_numeric(series, errors="coerce")
    return pd.Series(np.isclose(numbers, float(value), rtol=1e-9, atol=1e-12), index=series.index)


def _wanted(cell: pd.Series) -> tuple[str, dict[str, object]] | None:
    """The method and the hyperparameters a published cell's runs must have, or None when its
    method or variant names no computation of this pipeline."""
    variant = str(cell["method_or_variant"])
    if variant not in COMPUTATIONS:
        return None
    method, parameters = COMPUTATIONS[variant]
    wanted: dict[str, object] = {}
    for name, value in parameters.items():
        if value == ROW:
            if pd.isna(cell[name]):
                continue
            value = float(cell[name])
        wanted[name] = value
    return method, wanted


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float | int) else str(value)


def _candidates(cell: pd.Series, metrics: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The rows of ``metrics`` that compute this published cell, or none and the reason."""
    variant = str(cell["method_or_variant"])
    where = f"{cell['dataset']}/{cell['condition']}"
    rows = metrics[
        (metrics["dataset"] == str(cell["dataset"]))
        & (metrics["condition"] == str(cell["condition"]))
    ]
    if variant in NOT_EXPRESSIBLE:
        return rows.iloc[0:0], f"'{variant}' cannot be expressed: {NOT_EXPRESSIBLE[variant]}"
    if rows.empty:
        return rows, f"this run has no {where}"
    if variant in REFERENCE_KINDS:
        rows = rows[rows["model_kind"] == REFERENCE_KINDS[variant]]
        return rows, ("" if len(rows) else f"no {variant} model of {where} in this run")
    wanted = _wanted(cell)
    if wanted is None:
        return rows.iloc[0:0], f"no computation of this pipeline is mapped to '{variant}'"
    method, parameters = wanted
    rows = rows[(rows["model_kind"] == "unlearned") & (rows["method"] == method)]
    for name, value in parameters.items():
        rows = rows[_same(rows.get(f"hp_{name}", pd.Series(index=rows.index)), value)]
    if len(rows):
        return rows, ""
    stated = ", ".join(f"{name} {_describe(value)}" for name, value in parameters.items())
    return rows, f"no {method} run of {where} with {stated or 'any setting'}"


def _per_seed(rows: pd.DataFrame, metric: str) -> pd.Series:
    """The metric per seed (several models of one seed, e.g. retrain replicas, averaged)."""
    if metric not in rows.columns:
        return pd.Series(dtype="float64")
    values = pd.to_numeric(rows[metric], errors="coerce")
    return values.groupby(rows["seed"]).mean().dropna()


def _verdict(published: float, values: pd.Series, tolerance: float) -> tuple[str, float]:
    mean = float(values.mean())
    difference = mean - published
    if abs(difference) <= tolerance + 1e-9:
        return WITHIN_TOLERANCE, difference
    if len(values) >= 2 and values.min() - 1e-9 <= published <= values.max() + 1e-9:
        return WITHIN_SPREAD, difference
    return OUTSIDE, difference


def reproduction_table(
    published: pd.DataFrame, metrics: pd.DataFrame, tolerance: float
) -> pd.DataFrame:
    """One row per published cell (in the published file's order): the published value and this
    run's mean, standard deviation, range and seed count, their difference and the verdict, all
    in points; ``tolerance`` is in points."""
    if not math.isfinite(tolerance) or tolerance < 0:
        raise UserError(
            f"reproduction.tolerance is {tolerance}; set it to a non-negative number of points."
        )
    for column in ("dataset", "condition", "model_kind", "method", "setting", "seed"):
        if column not in metrics.columns:
            metrics = metrics.assign(**{column: pd.Series(dtype="object")})
    records = []
    for _, cell in published.iterrows():
        record = {c: cell[c] for c in CELL_COLUMNS}
        value = float(cell["value"]) * POINTS
        record.update(
            published=value,
            run_mean=math.nan,
            run_std=math.nan,
            run_min=math.nan,
            run_max=math.nan,
            seeds=0,
            difference=math.nan,
            verdict=NOT_RUN,
            matched="",
            reason="",
            source_file=cell["source_file"],
            source_line=cell["source_line"],
            note=cell["note"],
        )
        rows, reason = _candidates(cell, metrics)
        runs = sorted({f"{m}/{s}" for m, s in zip(rows["method"], rows["setting"], strict=True)})
        if str(cell["method_or_variant"]) in REFERENCE_KINDS:
            runs = [str(cell["method_or_variant"])] if len(rows) else []
        record["matched"] = "; ".join(runs)
        if reason:
            record["reason"] = reason
        elif len(runs) > 1:
            record.update(verdict=AMBIGUOUS, reason=f"{len(runs)} settings of this run match")
        else:
            values = _per_seed(rows, str(cell["metric"])) * POINTS
            if values.empty:
                record["reason"] = f"{runs[0]} has no {cell['metric']} in this run"
            else:
                verdict, difference = _verdict(value, values, tolerance)
                record.update(
                    run_mean=float(values.mean()),
                    run_std=float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                    run_min=float(values.min()),
                    run_max=float(values.max()),
                    seeds=len(values),
                    difference=difference,
                    verdict=verdict,
                )
        records.append(record)
    return pd.DataFrame.from_records(records, columns=[*CELL_COLUMNS, *RESULT_COLUMNS])


def _number(value: object, digits: int = 1) -> str:
    return "" if pd.isna(value) else f"{float(value):.{digits}f}"


def _parameter(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):g}"


def _run_cell(row: pd.Series) -> str:
    if row["seeds"] == 0:
        return "—"
    spread = "" if pd.isna(row["run_std"]) else f" ± {row['run_std']:.1f}"
    return f"{row['run_mean']:.1f}{spread} (n={int(row['seeds'])})"


def _escape(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(table: pd.DataFrame, tolerance: float, published_path: str) -> str:
    """The reproduction table for humans: a count of verdicts per figure, then every cell."""
    lines = [
        "# Reproduction of the published numbers",
        "",
        f"Every cell of `{published_path}` beside this run, in points (accuracy × 100). "
        f"*within tolerance*: |this run's mean − published| ≤ {tolerance:g} points; *within seed "
        "spread*: the published value lies between this run's lowest and highest seed; "
        "*ambiguous*: several settings of this run match the cell; *not run*: nothing in this "
        "run computes it (the reason is given).",
        "",
        "| figure | cells | " + " | ".join(VERDICTS) + " |",
        "|---|---:|" + "---:|" * len(VERDICTS),
    ]
    for figure, part in table.groupby("figure", sort=False):
        counts = part["verdict"].value_counts()
        lines.append(
            f"| {_escape(figure)} | {len(part)} | "
            + " | ".join(str(int(counts.get(v, 0))) for v in VERDICTS)
            + " |"
        )
    headers = [
        "panel",
        "dataset",
        "condition",
        "method or variant",
        "γ",
        "λ",
        "φ",
        "epochs",
        "metric",
        "published",
        "this run",
        "difference",
        "verdict",
        "source",
    ]
    for figure, part in table.groupby("figure", sort=False):
        lines += ["", f"## {figure}", ""]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "---|" * 9 + "---:|" * 3 + "---|---|")
        for _, row in part.iterrows():
            verdict = row["verdict"]
            if row["reason"]:
                verdict = f"{verdict}: {row['reason']}"
            cells = [
                row["panel"],
                row["dataset"],
                row["condition"],
                row["method_or_variant"],
                _parameter(row["gamma"]),
                _parameter(row["lambda"]),
                _parameter(row["phi"]),
                _parameter(row["epochs"]),
                row["metric"],
                _number(row["published"]),
                _run_cell(row),
                _number(row["difference"]),
                verdict,
                f"{row['source_file']}:{row['source_line']}",
            ]
            lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_reproduction(
    published_path: str | os.PathLike,
    metrics: pd.DataFrame,
    tolerance: float,
    out_csv: str | os.PathLike,
    out_md: str | os.PathLike,
    shown_path: str | None = None,
) -> pd.DataFrame:
    """Build the reproduction table and write it as CSV and Markdown (atomically)."""
    table = reproduction_table(read_published(published_path), metrics, tolerance)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    write_text(out_md, render_markdown(table, tolerance, shown_path or str(published_path)))
    return table


def verdict_counts(table: pd.DataFrame) -> str:
    """``"n within tolerance, …"`` for a log line."""
    counts = table["verdict"].value_counts()
    return ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS)
