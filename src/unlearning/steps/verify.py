"""The verify step: every cached checkpoint checked, the corrupt ones removed (rule verify)."""

from __future__ import annotations

from pathlib import Path


def verify_checkpoints(folder: str | Path) -> str:
    """Check every checkpoint under ``folder`` against its recorded sha256 and for finite
    weights (rule verify), print one line for each corrupt one and remove its ``model.pt``. The
    default target asks for every result file, so the next plain run rebuilds a removed model and
    then, its inputs being newer, everything that depends on it."""
    from unlearning.models.checkpoint import checkpoint_problem

    paths = sorted(Path(folder).rglob("model.pt"))
    corrupt = 0
    for path in paths:
        problem = checkpoint_problem(path)
        if problem is not None:
            corrupt += 1
            path.unlink()
            print(f"corrupt: {path}: {problem} (removed; the next run rebuilds it)", flush=True)
    summary = f"{len(paths)} checkpoints under {folder} checked, {corrupt} corrupt"
    if corrupt:
        summary += ": run snakemake again to rebuild them and every result that depends on them"
    print(f"verify: {summary}.", flush=True)
    return summary
