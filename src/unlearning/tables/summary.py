"""The tables for humans: each method at its chosen setting, and psg's λ×γ grid.

Built only from the long metrics table, so they can never disagree with ``metrics.csv``. Every
table exists as CSV (raw fractions, mean and std columns), Markdown, LaTeX (booktabs) and, for
the HTML report, one small HTML file per dataset and condition.
"""

from __future__ import annotations

import html
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from unlearning.atomic import atomic_path, write_text
from unlearning.plots import HIGHLIGHT
from unlearning.settings import format_value as format_hyperparameter
from unlearning.tables.collect import MODEL_KIND_ORDER, numeric
from unlearning.tables.selection import (
    BY_DEFAULT,
    best_settings,
    reported_rows,
    with_validation_gap,
)

#: Numeric metrics of the tables, in column order: (metrics key, header, kind).
SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("acc_test", "test acc", "percent"),
    ("acc_forget", "forget acc", "percent"),
    ("acc_remain", "remain acc", "percent"),
    ("mia_efficacy", "MIA efficacy", "percent"),  # header names the attack and feature
    ("gap_mean", "gap to retrain", "percent"),
    ("distance", "distance", "percent"),
    ("val_gap", "val gap", "percent"),
    ("unlearn_seconds", "unlearning s", "seconds"),
    ("seconds_ratio", "× retrain s", "ratio"),
)

GROUP_COLUMNS: tuple[str, ...] = ("dataset", "condition", "model_kind", "method", "setting")
#: The grid table: every setting of the highlighted method.
GRID_TABLE = f"{HIGHLIGHT}_grid"
GRID_PARAMS = (("hp_lambda", "λ", "\\lambda"), ("hp_gamma", "γ", "\\gamma"))
MISSING = "—"

#: How the tables name the attack recorded in ``mia_attack`` (see ``metrics.evaluate``).
MIA_ATTACK_NAMES = {"svc": "SVC", "logistic": "logistic"}

#: A retrain whose headline remain accuracy (``acc_remain``) lies more than this far below the
#: original's, for the same dataset, seed and condition, is a poor stand-in for the ideal
#: unlearned model: every gap measured against it is unreliable, so the tables say so.
RETRAIN_REMAIN_DROP_LIMIT = 0.10

LOGGER = logging.getLogger(__name__)


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


MIA_NAME_COLUMNS = ("mia_feature", "mia_attack")


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Aggregate over seeds: per model, ``<metric>_mean``, ``<metric>_std``, ``<metric>_n``.

    Means skip missing seeds (a null is not a zero); a metric missing in every seed stays NaN.
    ``n_seeds`` counts the seeds of a row; ``mia_feature`` and ``mia_attack`` name the MIA
    feature(s) and attack(s) used ("/"-joined when seeds differ; None when not recorded, as in
    metrics written before ``mia_attack`` existed). Columns starting with ``hp_`` keep their
    (per-setting constant) first value.
    """
    if df.empty:
        return pd.DataFrame(columns=[*GROUP_COLUMNS, "n_seeds", *MIA_NAME_COLUMNS])
    work = with_validation_gap(df) if "val_gap" not in df.columns else df.copy()
    for key, _, _ in SUMMARY_METRICS:
        work[key] = numeric(work, key)
    for column in MIA_NAME_COLUMNS:
        if column not in work.columns:
            work[column] = None
    grouped = work.groupby(list(GROUP_COLUMNS), sort=False, dropna=False)
    parts: dict[str, pd.Series] = {"n_seeds": grouped["seed"].nunique()}
    for key, _, _ in SUMMARY_METRICS:
        parts[f"{key}_mean"] = grouped[key].mean()
        parts[f"{key}_std"] = grouped[key].std(ddof=1)
        parts[f"{key}_n"] = grouped[key].count()
    for column in (c for c in work.columns if c.startswith("hp_")):
        parts[column] = grouped[column].first()
    for column in MIA_NAME_COLUMNS:
        parts[column] = grouped[column].agg(
            lambda s: "/".join(sorted({str(v) for v in s.dropna()})) or None
        )
    table = pd.DataFrame(parts).reset_index()
    return _row_order(table)


def best_summary(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`summary_table` of the references and each method at its validation-chosen setting,
    with ``selected_by`` and ``n_settings`` saying how the setting was chosen."""
    table = summary_table(reported_rows(with_validation_gap(df)))
    if table.empty:
        return table.assign(selected_by=None, n_settings=None)
    chosen = best_settings(df)[
        ["dataset", "condition", "label", "setting", "selected_by", "n_settings"]
    ].rename(columns={"label": "method"})
    return table.merge(chosen, on=["dataset", "condition", "method", "setting"], how="left")


def grid_summary(df: pd.DataFrame, method: str = HIGHLIGHT) -> pd.DataFrame:
    """:func:`summary_table` of every setting of ``method``, with ``chosen`` marking the setting
    the summary reports; sorted by λ then γ when those hyperparameters are recorded."""
    scored = with_validation_gap(df)
    table = summary_table(scored[scored["method"] == method])
    if table.empty:
        return table.assign(chosen=False)
    chosen = best_settings(df)[["dataset", "condition", "method", "setting"]].assign(chosen=True)
    table = table.merge(chosen, on=["dataset", "condition", "method", "setting"], how="left")
    table["chosen"] = table["chosen"].eq(True)
    keys = ["dataset", "condition"] + [c for c, _, _ in GRID_PARAMS if c in table.columns]
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def retrain_remain_drops(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, condition and seed holding both references: ``original_remain`` and
    ``retrain_remain`` (headline ``acc_remain``) and ``drop`` = original − retrain."""
    keys = ["dataset", "condition", "seed"]
    columns = [*keys, "original_remain", "retrain_remain", "drop"]
    if df.empty or not {*keys, "model_kind"} <= set(df.columns):
        return pd.DataFrame(columns=columns)
    remain = numeric(df, "acc_remain")

    def side(kind: str) -> pd.DataFrame:
        rows = df["model_kind"] == kind
        frame = {**{k: df.loc[rows, k] for k in keys}, f"{kind}_remain": remain[rows]}
        return pd.DataFrame(frame).drop_duplicates(keys)

    joined = side("original").merge(side("retrain"), on=keys)
    joined["drop"] = joined["original_remain"] - joined["retrain_remain"]
    return joined.dropna(subset=["drop"])[columns].reset_index(drop=True)


def _beyond(drop: pd.Series, limit: float) -> pd.Series:
    """``drop`` > ``limit``, robust to float error at exactly the limit."""
    return drop.astype(float).round(9) > limit


def unreliable_references(
    drops: pd.DataFrame, limit: float = RETRAIN_REMAIN_DROP_LIMIT
) -> dict[tuple[str, str], str]:
    """(dataset, condition) -> a note, for each pair where a seed's retrain remain accuracy is
    more than ``limit`` below the original's (``drops`` from :func:`retrain_remain_drops`);
    each is also logged as a warning."""
    bad = drops[_beyond(drops["drop"], limit)]
    notes = {}
    for (dataset, condition), part in bad.groupby(["dataset", "condition"], sort=False):
        worst = part.loc[part["drop"].idxmax()]
        seeds = "; ".join(
            f"seed {r.seed}: retrain {100 * r.retrain_remain:.1f}% vs original "
            f"{100 * r.original_remain:.1f}%"
            for r in part.itertuples()
        )
        notes[(str(dataset), str(condition))] = (
            f"Unreliable reference: retrain remain accuracy is "
            f"{'up to ' if len(part) > 1 else ''}{100 * worst['drop']:.1f} points below the "
            f"original's ({seeds}); gaps to it are unreliable."
        )
        LOGGER.warning(
            "%s, %s: retrain remain accuracy %.1f%% is %.1f points below the original's %.1f%% "
            "(seed %s; limit %.1f points); every gap to this retrain is unreliable.",
            dataset,
            condition,
            100 * worst["retrain_remain"],
            100 * worst["drop"],
            100 * worst["original_remain"],
            worst["seed"],
            100 * limit,
        )
    return notes


def with_reference_check(
    table: pd.DataFrame, drops: pd.DataFrame, limit: float = RETRAIN_REMAIN_DROP_LIMIT
) -> pd.DataFrame:
    """``table`` plus ``retrain_remain_drop`` (the largest original − retrain remain accuracy
    over the seeds of its dataset and condition, from ``drops``; NaN if unknown) and
    ``unreliable_reference`` (that drop exceeds ``limit``). Does not log; see
    :func:`unreliable_references`."""
    worst = (
        drops.groupby(["dataset", "condition"], sort=False)["drop"]
        .max()
        .rename("retrain_remain_drop")
        .reset_index()
    )
    out = table.drop(columns=["retrain_remain_drop", "unreliable_reference"], errors="ignore")
    out = out.merge(worst, on=["dataset", "condition"], how="left") if len(out) else out
    if "retrain_remain_drop" not in out.columns:
        out["retrain_remain_drop"] = math.nan
    out["unreliable_reference"] = _beyond(out["retrain_remain_drop"], limit)
    return out


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


@dataclass(frozen=True)
class Section:
    """One table of a rendered document: a dataset and condition, its header and text cells."""

    dataset: str
    condition: str
    headers: list[str]
    rows: list[list[str]]
    note: str
    #: Leading columns that hold text (left-aligned); the rest are numbers.
    text_columns: tuple[int, ...] = (0, 1)
    #: A line shown under the table when its retrain is an unreliable reference ("" if not).
    warning: str = ""


def _names(section: pd.DataFrame, column: str) -> list[str]:
    values = section[column].dropna() if column in section else []
    return sorted({f for v in values for f in str(v).split("/")})


def _features(section: pd.DataFrame) -> str:
    return "/".join(_names(section, "mia_feature"))


def _attacks(section: pd.DataFrame) -> str:
    """Display names of the recorded MIA attack(s); "" for rows that predate ``mia_attack``."""
    return "/".join(MIA_ATTACK_NAMES.get(a, a) for a in _names(section, "mia_attack"))


def _mia_label(section: pd.DataFrame) -> str:
    """What the MIA column measures, e.g. "SVC, confidence"; the parts that were recorded."""
    return ", ".join(part for part in (_attacks(section), _features(section)) if part)


def _seed_note(section: pd.DataFrame, features: str, selection: str) -> str:
    if "selected_by" in section and (section["selected_by"] == BY_DEFAULT).any():
        selection += " * = no validation gap to choose by (no retrain or no validation split), "
        selection += "so the default setting is shown."
    counts = sorted(set(section["n_seeds"].astype(int)))
    if len(counts) == 1:
        seeds = f"Mean ± std over {counts[0]} seeds" if counts[0] > 1 else "One seed"
    else:
        seeds = f"Mean ± std over {counts[0]}–{counts[-1]} seeds (rows differ)"
    feature = f"MIA feature: {features}" if features else "MIA feature: not recorded"
    attacks = _attacks(section)
    if attacks:
        feature += f"; MIA attack: {attacks}"
    return (
        f"{seeds}. {selection} Accuracies, MIA efficacy, gaps and distance in %; times in "
        f"seconds; {feature}; {MISSING} = not available."
    )


SUMMARY_SELECTION = (
    "Each method at the setting with the smallest mean validation gap to the retrain "
    "(val gap); the other columns are test or headline metrics."
)
GRID_SELECTION = f"Every {HIGHLIGHT} setting; chosen = the setting the summary reports."


def _metric_cells(record: dict) -> list[str]:
    return [
        format_cell(record[f"{k}_mean"], record[f"{k}_std"], record[f"{k}_n"], kind)
        for k, _, kind in SUMMARY_METRICS
    ]


def _metric_headers(mia_label: str) -> list[str]:
    return [
        f"{header} ({mia_label})" if key == "mia_efficacy" and mia_label else header
        for key, header, _ in SUMMARY_METRICS
    ]


def summary_sections(
    table: pd.DataFrame, warnings: Mapping[tuple[str, str], str] | None = None
) -> list[Section]:
    """Text cells of :func:`best_summary`, one section per dataset and condition; ``warnings``
    (from :func:`unreliable_references`) adds a line under the tables it names."""
    warnings = warnings or {}
    sections = []
    for (dataset, condition), part in table.groupby(["dataset", "condition"], sort=False):
        features = _features(part)
        rows = []
        for record in part.to_dict("records"):
            setting = str(record["setting"])
            if record.get("selected_by") == BY_DEFAULT:
                setting += " *"
            rows.append([str(record["method"]), setting, *_metric_cells(record)])
        sections.append(
            Section(
                str(dataset),
                str(condition),
                ["method", "setting", *_metric_headers(_mia_label(part))],
                rows,
                _seed_note(part, features, SUMMARY_SELECTION),
                warning=warnings.get((str(dataset), str(condition)), ""),
            )
        )
    return sections


def grid_sections(
    table: pd.DataFrame, warnings: Mapping[tuple[str, str], str] | None = None
) -> list[Section]:
    """Text cells of :func:`grid_summary`, one section per dataset and condition; ``warnings``
    as in :func:`summary_sections`."""
    warnings = warnings or {}
    params = [(c, h) for c, h, _ in GRID_PARAMS if c in table.columns]
    sections = []
    for (dataset, condition), part in table.groupby(["dataset", "condition"], sort=False):
        features = _features(part)
        rows = [
            [
                *(
                    format_hyperparameter(r[c]) if not _missing(r[c]) else MISSING
                    for c, _ in params
                ),
                str(r["setting"]),
                "yes" if r["chosen"] else "",
                *_metric_cells(r),
            ]
            for r in part.to_dict("records")
        ]
        sections.append(
            Section(
                str(dataset),
                str(condition),
                [*(h for _, h in params), "setting", "chosen", *_metric_headers(_mia_label(part))],
                rows,
                _seed_note(part, features, GRID_SELECTION),
                (len(params), len(params) + 1),
                warnings.get((str(dataset), str(condition)), ""),
            )
        )
    return sections


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(title: str, sections: Sequence[Section], empty: str) -> str:
    lines = [f"# {title}", ""]
    if not sections:
        return "\n".join([*lines, empty, ""])
    for s in sections:
        numeric = [i not in s.text_columns for i in range(len(s.headers))]
        lines += [f"### {s.dataset} — {s.condition}", ""]
        lines.append("| " + " | ".join(_md_escape(h) for h in s.headers) + " |")
        lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
        lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in s.rows]
        if s.warning:
            lines += ["", f"**Warning.** {s.warning}"]
        lines += ["", s.note, ""]
    return "\n".join(lines)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SYMBOLS = {"±": r"$\pm$", "—": "--", "×": r"$\times$", "λ": r"$\lambda$", "γ": r"$\gamma$"}


def latex_escape(text: str) -> str:
    out = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)
    for symbol, command in _LATEX_SYMBOLS.items():
        out = out.replace(symbol, command)
    return out


def render_latex(title: str, sections: Sequence[Section], empty: str) -> str:
    """One booktabs table per section; needs ``\\usepackage{booktabs}`` in the document."""
    lines = [f"% {title}. Generated from results/tables/metrics.csv; needs booktabs.", ""]
    if not sections:
        return "\n".join([*lines, f"% {empty}", ""])
    for s in sections:
        spec = "".join("l" if i in s.text_columns else "r" for i in range(len(s.headers)))
        lines += [
            r"\begin{table}[t]",
            r"\centering",
            r"\scriptsize",
            rf"\caption{{{latex_escape(f'{s.dataset}, {s.condition}. {s.note}')}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(latex_escape(h) for h in s.headers) + r" \\",
            r"\midrule",
            *(" & ".join(latex_escape(c) for c in row) + r" \\" for row in s.rows),
            r"\bottomrule",
            r"\end{tabular}",
            *(
                [rf"\par\smallskip{{\footnotesize\textbf{{Warning.}} {latex_escape(s.warning)}}}"]
                if s.warning
                else []
            ),
            r"\end{table}",
            "",
        ]
    return "\n".join(lines)


def render_html(section: Section, title: str) -> str:
    """A small standalone HTML page holding one section, for the Snakemake report."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in section.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in section.rows
    )
    left = "".join(
        f"th:nth-child({i + 1}),td:nth-child({i + 1}){{text-align:left}}"
        for i in section.text_columns
    )
    style = (
        "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
        "th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}" + left
    )
    heading = html.escape(f"{title}: {section.dataset}, {section.condition}")
    warning = (
        f"<p><strong>Warning.</strong> {html.escape(section.warning)}</p>"
        if section.warning
        else ""
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{style}</style></head><body>"
        f"<h3>{heading}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"{warning}<p>{html.escape(section.note)}</p></body></html>\n"
    )


def _numeric_csv(table: pd.DataFrame, leading: Sequence[str]) -> pd.DataFrame:
    metrics = [f"{k}_{s}" for k, _, _ in SUMMARY_METRICS for s in ("mean", "std")]
    columns = [c for c in leading if c in table.columns] + ["n_seeds", *metrics]
    columns += [*MIA_NAME_COLUMNS, "retrain_remain_drop", "unreliable_reference"]
    return table[[c for c in columns if c in table.columns]]


SUMMARY_TITLE = "Unlearning results: each method at its chosen setting"
GRID_TITLE = f"{HIGHLIGHT}: every λ×γ setting"


def write_tables(
    df: pd.DataFrame, folder: str | os.PathLike, html_folder: str | os.PathLike
) -> int:
    """Write summary.{csv,md,tex} and psg_grid.{csv,md,tex} to ``folder`` and one HTML page per
    table and section to ``html_folder/<dataset>/<condition>/<table>.html``; return the number
    of sections. A dataset and condition whose retrain is an unreliable reference (see
    :data:`RETRAIN_REMAIN_DROP_LIMIT`) is logged as a warning and marked in every format."""
    folder, html_folder = Path(folder), Path(html_folder)
    drops = retrain_remain_drops(df)
    warnings = unreliable_references(drops)
    summary = with_reference_check(best_summary(df), drops)
    grid = with_reference_check(grid_summary(df), drops)
    ids = ["dataset", "condition", "model_kind", "method", "setting"]
    documents = {
        "summary": (
            summary,
            summary_sections(summary, warnings),
            SUMMARY_TITLE,
            [*ids, "selected_by", "n_settings"],
        ),
        GRID_TABLE: (
            grid,
            grid_sections(grid, warnings),
            GRID_TITLE,
            [*ids, *(c for c, _, _ in GRID_PARAMS), "chosen"],
        ),
    }
    for name, (table, sections, title, leading) in documents.items():
        with atomic_path(folder / f"{name}.csv") as tmp:
            _numeric_csv(table, leading).to_csv(tmp, index=False, na_rep="")
        empty = f"No {HIGHLIGHT} runs." if name == GRID_TABLE else "No metrics were collected."
        write_text(folder / f"{name}.md", render_markdown(title, sections, empty))
        write_text(folder / f"{name}.tex", render_latex(title, sections, empty))
        for section in sections:
            page = html_folder / section.dataset / section.condition / f"{name}.html"
            write_text(page, render_html(section, title))
    return len(documents["summary"][1])
