"""The tables for humans as files: CSV (raw fractions, mean and std columns), Markdown, LaTeX
(booktabs) and, for the HTML report, one small HTML page per dataset and condition.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from unlearning.atomic import atomic_path, write_text
from unlearning.report_settings import GRID_AXES, GRID_NAME, GRID_TABLE, HIGHLIGHT
from unlearning.tables.sections import Section, grid_sections, summary_sections
from unlearning.tables.summary import (
    MIA_NAME_COLUMNS,
    SUMMARY_METRICS,
    best_summary,
    grid_summary,
    retrain_remain_drops,
    unreliable_references,
    with_reference_check,
)


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
    ``summary.RETRAIN_REMAIN_DROP_LIMIT``) is logged as a warning and marked in every format."""
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
