"""Tables built from every model's metrics: the long CSV and the Markdown summary."""

from unlearning.tables.collect import (
    collect_metrics,
    read_metrics_csv,
    sort_metrics,
    write_metrics_csv,
)
from unlearning.tables.summary import summary_markdown, summary_table, write_summary

__all__ = [
    "collect_metrics",
    "read_metrics_csv",
    "sort_metrics",
    "summary_markdown",
    "summary_table",
    "write_metrics_csv",
    "write_summary",
]
