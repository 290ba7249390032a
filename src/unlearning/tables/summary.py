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
from unlearning.report_settings import GRID_AXES, GRID_NAME, GRID_TABLE, HIGHLIGHT
from unlearning.settings import format_value as format_hyperparameter
from unlearning.tables.collect import MODEL_KIND_ORDER, numeric
from unlearning.tables.references import (
    REFERENCE_DRIFT_LIMIT,
    floor_verdicts,
    reference_problems,
)
from unlearning.tables.selection import (
    ALL_COLLAPSED,
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
    ("floor_gap_mean", "retrain floor", "percent"),
    ("distance", "distance", "percent"),
    ("tow", "ToW", "ratio"),
    ("val_gap", "val gap", "percent"),
    ("unlearn_seconds", "unlearning s", "seconds"),
    ("seconds_ratio", "× retrain s", "ratio"),
)

GROUP_COLUMNS: tuple[str, ...] = ("dataset", "condition", "model_kind", "method", "setting")
MISSING = "—"

#: How the tables name the attack recorded in ``mia_attack`` (see ``metrics.evaluate``).
MIA_ATTACK_NAMES = {"svc": "SVC", "logistic": "logistic"}

#: Retrain references whose mean remain or test accuracy lies more than this far below or above
#: the original's, for the same dataset, seed and condition, are a poor stand-in for the ideal
#: unlearned model: every gap measured against them is unreliable, so the tables say so.
RETRAIN_REMAIN_DROP_LIMIT = REFERENCE_DRIFT_LIMIT

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
    table = table.merge(chosen, on=["dataset", "condition", "method", "setting"], how="left")
    verdicts = floor_verdicts(reported_rows(df))
    verdicts = verdicts[["dataset", "condition", "method", "excess_low", "excess_high", "verdict"]]
    return table.merge(
        verdicts.rename(columns={"verdict": "floor_verdict"}),
        on=["dataset", "condition", "method"],
        how="left",
    )


def grid_summary(df: pd.DataFrame, method: str = HIGHLIGHT) -> pd.DataFrame:
    """:func:`summary_table` of every setting of ``method``, with ``chosen`` marking the setting
    the summary reports; sorted by the grid axes, in their order, when they are recorded."""
    scored = with_validation_gap(df)
    table = summary_table(scored[scored["method"] == method])
    if table.empty:
        return table.assign(chosen=False)
    chosen = best_settings(df)[["dataset", "condition", "method", "setting"]].assign(chosen=True)
    table = table.merge(chosen, on=["dataset", "condition", "method", "setting"], how="left")
    table["chosen"] = table["chosen"].eq(True)
    keys = ["dataset", "condition"] + [a.column for a in GRID_AXES if a.column in table.columns]
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def retrain_remain_drops(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, condition and seed holding both references: ``original_remain``,
    ``retrain_remain`` (the mean headline ``acc_remain`` of the retrain references), ``drop`` =
    original − retrain, and ``problem`` (why the references are unreliable, or "")."""
    return reference_problems(df, RETRAIN_REMAIN_DROP_LIMIT)


def unreliable_references(drops: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(dataset, condition) -> a note, for each pair where a seed's retrain references are
    unreliable (``drops`` from :func:`retrain_remain_drops`: far below or above the original, or
    near chance); each is also logged as a warning. No method of such a pair is called close to
    retraining."""
    bad = drops[drops["problem"].astype(bool)] if len(drops) else drops
    notes = {}
    for (dataset, condition), part in bad.groupby(["dataset", "condition"], sort=False):
        seeds = "; ".join(f"seed {r.seed}: {r.problem}" for r in part.itertuples())
        notes[(str(dataset), str(condition))] = (
            f"Unreliable reference: {seeds}. Gaps to it are unreliable, and no method is called "
            "close to retraining."
        )
        LOGGER.warning(
            "%s, %s: %s; every gap to the retrain is unreliable.", dataset, condition, seeds
        )
    return notes


def with_reference_check(table: pd.DataFrame, drops: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus ``retrain_remain_drop`` (the original − retrain remain accuracy of the seed
    furthest from zero, from ``drops``; NaN if unknown) and ``unreliable_reference`` (a seed's
    references are unreliable). Does not log; see :func:`unreliable_references`."""
    keys = ["dataset", "condition"]
    if len(drops):
        worst = drops.assign(size=drops["drop"].abs()).sort_values("size", ascending=False)
        per_pair = (
            worst.groupby(keys, sort=False)
            .agg(retrain_remain_drop=("drop", "first"), problem=("problem", lambda p: any(p)))
            .reset_index()
        )
    else:
        per_pair = pd.DataFrame(columns=[*keys, "retrain_remain_drop", "problem"])
    out = table.drop(columns=["retrain_remain_drop", "unreliable_reference"], errors="ignore")
    out = out.merge(per_pair, on=keys, how="left") if len(out) else out
    for column in ("retrain_remain_drop", "problem"):
        if column not in out.columns:
            out[column] = math.nan
    out["unreliable_reference"] = out.pop("problem").eq(True)
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
    #: Which methods are within the retrain references' noise floor, in words ("" if none).
    verdict: str = ""


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
    if (
        "selected_by" in section
        and section["selected_by"].astype(str).str.startswith(BY_DEFAULT).any()
    ):
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
    "(val gap); the other columns are test or headline metrics. Gaps are to the mean of the "
    "retrain references (the retrain row: mean ± std over every reference and seed); retrain "
    "floor = the mean leave-one-out gap of each reference to the "
    "others; within floor = the gap is not above it (over several seeds: the 95 % interval of "
    "gap − floor reaches 0); ToW = product over forget, remain and test of (1 − |Δacc|)."
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
        warning = warnings.get((str(dataset), str(condition)), "")
        for record in part.to_dict("records"):
            setting = str(record["setting"])
            if str(record.get("selected_by")).startswith(BY_DEFAULT):
                setting += " *"
            if str(record.get("selected_by")).endswith(ALL_COLLAPSED):
                setting += " †"
            within = _within_cell(record.get("floor_verdict"), bool(warning))
            rows.append([str(record["method"]), setting, *_metric_cells(record), within])
        sections.append(
            Section(
                str(dataset),
                str(condition),
                ["method", "setting", *_metric_headers(_mia_label(part)), "within floor"],
                rows,
                _seed_note(part, features, SUMMARY_SELECTION),
                warning=warning,
                verdict=floor_sentence(part, bool(warning)),
            )
        )
    return sections


def _within_cell(verdict: object, void: bool) -> str:
    if void and verdict in ("within", "beyond"):
        return "void"
    return {"within": "yes", "beyond": "no"}.get(str(verdict), MISSING)


def floor_sentence(part: pd.DataFrame, void: bool) -> str:
    """In words, which methods of one section are indistinguishable from retraining."""
    if "floor_verdict" not in part:
        return ""
    judged = part.dropna(subset=["floor_verdict"])
    original_within = (
        (judged["model_kind"] == "original") & (judged["floor_verdict"] == "within")
    ).any()
    judged = judged[judged["model_kind"] == "unlearned"]
    within = [str(m) for m in judged.loc[judged["floor_verdict"] == "within", "method"]]
    beyond = [str(m) for m in judged.loc[judged["floor_verdict"] == "beyond", "method"]]
    if judged.empty:
        return ""
    if void:
        return (
            "No method is called close to retraining: the retrain references are unreliable "
            "(see the warning)."
        )
    if not within and not beyond:
        return (
            "One retrain reference, so no noise floor: no gap can be told apart from "
            "retraining noise (set evaluation.retrains to 3 or more)."
        )
    low = part["floor_gap_mean_mean"].dropna()
    floor = f" ({100 * float(low.iloc[0]):.1f} %)" if len(low) else ""
    text = f"Within the retrain references' noise floor{floor}, indistinguishable from "
    text += f"retraining on this evidence: {', '.join(within) if within else 'none'}."
    if beyond:
        text += f" Beyond it: {', '.join(beyond)}."
    if original_within:
        text += (
            " The original itself is within the floor: on these accuracies, having forgotten "
            "this set cannot be told from not having forgotten it."
        )
    collapsed_rows = part[part["selected_by"].astype(str).str.endswith(ALL_COLLAPSED)]
    if len(collapsed_rows):
        names = ", ".join(str(m) for m in collapsed_rows["method"])
        text += f" † = every setting collapsed to near-chance test accuracy: {names}."
    return text


def grid_sections(
    table: pd.DataFrame, warnings: Mapping[tuple[str, str], str] | None = None
) -> list[Section]:
    """Text cells of :func:`grid_summary`, one section per dataset and condition; ``warnings``
    as in :func:`summary_sections`."""
    warnings = warnings or {}
    params = [(a.column, a.symbol) for a in GRID_AXES if a.column in table.columns]
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
        if s.verdict:
            lines += ["", f"**Verdict.** {s.verdict}"]
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
_LATEX_SYMBOLS = {
    "±": r"$\pm$",
    "—": "--",
    "×": r"$\times$",
    **{axis.symbol: f"${axis.latex}$" for axis in GRID_AXES},
}


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
            *(
                [rf"\par\smallskip{{\footnotesize\textbf{{Verdict.}} {latex_escape(s.verdict)}}}"]
                if s.verdict
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
    verdict = (
        f"<p><strong>Verdict.</strong> {html.escape(section.verdict)}</p>"
        if section.verdict
        else ""
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{style}</style></head><body>"
        f"<h3>{heading}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"{warning}{verdict}<p>{html.escape(section.note)}</p></body></html>\n"
    )


def _numeric_csv(table: pd.DataFrame, leading: Sequence[str]) -> pd.DataFrame:
    metrics = [f"{k}_{s}" for k, _, _ in SUMMARY_METRICS for s in ("mean", "std")]
    columns = [c for c in leading if c in table.columns] + ["n_seeds", *metrics]
    columns += [*MIA_NAME_COLUMNS, "retrain_remain_drop", "unreliable_reference"]
    columns += ["floor_verdict", "excess_low", "excess_high"]
    return table[[c for c in columns if c in table.columns]]


SUMMARY_TITLE = "Unlearning results: each method at its chosen setting"
GRID_TITLE = f"{HIGHLIGHT}: every {GRID_NAME} setting"


def write_tables(
    df: pd.DataFrame, folder: str | os.PathLike, html_folder: str | os.PathLike
) -> int:
    """Write summary.{csv,md,tex} and <highlight>_grid.{csv,md,tex} to ``folder`` and one HTML
    page per table and section to ``html_folder/<dataset>/<condition>/<table>.html``; return the
    number of sections. A dataset and condition whose retrain is an unreliable reference (see
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
            [*ids, *(a.column for a in GRID_AXES), "chosen"],
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
