"""Tables built from every model's metrics: the long CSV and the human tables derived from it."""

from unlearning.tables.collect import (
    collect_metrics,
    read_metrics_csv,
    sort_metrics,
    write_metrics_csv,
)
from unlearning.tables.render import write_tables
from unlearning.tables.summary import best_summary, grid_summary, summary_table

__all__ = [
    "best_summary",
    "collect_metrics",
    "grid_summary",
    "read_metrics_csv",
    "sort_metrics",
    "summary_table",
    "write_metrics_csv",
    "write_tables",
]
