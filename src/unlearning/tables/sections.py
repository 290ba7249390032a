"""The text of the tables for humans: numbers formatted, seed and selection notes, and the
noise-floor verdict in words, one :class:`Section` per dataset and condition.

The renderers in ``tables.render`` only lay these cells out, so every format says the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from unlearning.report_settings import GRID_AXES, HIGHLIGHT
from unlearning.settings import format_value as format_hyperparameter
from unlearning.tables.selection import ALL_COLLAPSED, BY_DEFAULT
from unlearning.tables.summary import SUMMARY_METRICS

MISSING = "—"

#: How the tables name the attack recorded in ``mia_attack`` (see ``metrics.evaluate``).
MIA_ATTACK_NAMES = {"svc": "SVC", "logistic": "logistic"}


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
