"""The report's first page: the warnings, then every summary table, then the workflow's
description (``report/workflow.rst``).

Snakemake opens its HTML report on the workflow description; the Snakefile points that
description at this page once ``summary_tables`` has written it, so the report opens on the
results rather than on the rule graph. The page is reStructuredText whose content is raw HTML
(escaped here), inside a Jinja ``raw`` block, since Snakemake renders the description as a
Jinja template first.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from unlearning.tables.warnings import UNCHANGED_POINTS, collect_warnings

#: Snakemake's report centres its landing page vertically in a scrolling box, which puts the top
#: of a page taller than the window out of reach: align it to the top instead, and give the
#: tables room beside the rule graph.
STYLE = (
    "<style>div.h-screen.overflow-auto.items-center{align-items:flex-start!important;"
    "justify-content:flex-start!important}"
    ".prose.max-w-lg{max-width:52rem!important}"
    ".front-warnings{border:2px solid #b00020;background:#fff4f4;padding:6px 12px;"
    "margin:8px 0}.front-warnings h3{color:#b00020;margin:4px 0}.front-ok{color:#1b5e20}"
    ".front-table{max-width:52rem;overflow-x:auto}"
    ".front-table td:nth-child(2){max-width:12rem;overflow-wrap:anywhere}"
    ".front-table table{border-collapse:collapse;font-size:13px}.front-table th,.front-table td"
    "{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
    ".front-table td:nth-child(-n+2),.front-table th:nth-child(-n+2){text-align:left}</style>"
)


def _body(page: Path) -> str:
    """The content of a table page's body (its heading, table, warning, verdict and note)."""
    text = page.read_text()
    match = re.search(r"<body>(.*)</body>", text, flags=re.S)
    return match.group(1) if match else ""


def _raw(html_text: str) -> list[str]:
    """A ``raw`` directive holding the HTML one tag per line: docutils refuses a line longer than
    10,000 characters, which one line of every summary table of a full config exceeds."""
    lines = html_text.replace("><", ">\n<").splitlines()
    return [".. raw:: html", "", *(f"   {line}" for line in lines), ""]


def warnings_html(df: pd.DataFrame) -> str:
    found = collect_warnings(df)
    if not found:
        return (
            "<p class='front-ok'><strong>No warnings:</strong> the retrain references learned "
            f"the task, every method moved the model by more than {UNCHANGED_POINTS} points, and "
            "no model collapsed to chance.</p>"
        )
    items = []
    for line in found.lines():
        if line.startswith("  - "):
            items.append(f"<li>{html.escape(line[4:])}</li>")
        else:
            items.append(f"</ul><p><strong>{html.escape(line)}</strong></p><ul>")
    listing = "".join(items).removeprefix("</ul>") + "</ul>"
    return f"<div class='front-warnings'><h3>Warnings</h3>{listing}</div>"


def front_page(df: pd.DataFrame, html_folder: str | Path, description: str) -> str:
    """The first page of the report as reStructuredText."""
    pages = sorted(Path(html_folder).glob("*/*/summary.html"))
    tables = "".join(f"<div class='front-table'>{_body(page)}</div>" for page in pages)
    lines = ["{% raw %}", *_raw(STYLE + warnings_html(df) + tables), "{% endraw %}", ""]
    return "\n".join(lines) + description
