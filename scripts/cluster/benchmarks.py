"""What each rule used in a finished run, from its benchmark files, and what to ask Slurm for.

    python scripts/cluster/benchmarks.py [WORKDIR]

Prints, per rule, the jobs, the longest wall time and the largest resident memory, and a
`set-resources` block for profiles/slurm/config.yaml with twice those (runtime in minutes,
mem_mb in MB, rounded up), so the profile can be sized from a run on the real data.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.M | re.S)
BENCHMARK = re.compile(r'benchmark:\s*\n\s*"([^"]+)"')


def benchmark_patterns(rules_dir: Path) -> dict[str, re.Pattern]:
    """rule -> regex of its benchmark path, read from the rule files."""
    patterns = {}
    for path in sorted(rules_dir.glob("*.smk")):
        for name, body in RULE.findall(path.read_text()):
            match = BENCHMARK.search(body)
            if match:
                parts = re.split(r"(\{\w+\})", match.group(1))
                regex = "".join(
                    "[^/]+" if part.startswith("{") else re.escape(part) for part in parts
                )
                patterns[name] = re.compile(regex + "$")
    return patterns


def peaks(workdir: Path, patterns: dict[str, re.Pattern]) -> dict[str, tuple[int, float, float]]:
    """rule -> (jobs, longest seconds, largest max_rss in MB)."""
    found: dict[str, tuple[int, float, float]] = {}
    for path in sorted((workdir / "benchmarks").rglob("*.tsv")):
        relative = path.relative_to(workdir).as_posix()
        rule = next((r for r, p in patterns.items() if p.match(relative)), None)
        if rule is None:
            continue
        with path.open() as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        for row in rows:
            jobs, seconds, rss = found.get(rule, (0, 0.0, 0.0))
            rss_here = float(row["max_rss"]) if row["max_rss"] not in ("", "-", "NA") else 0.0
            found[rule] = (jobs + 1, max(seconds, float(row["s"])), max(rss, rss_here))
    return found


def main() -> None:
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    found = peaks(workdir, benchmark_patterns(workdir / "rules"))
    if not found:
        sys.exit(f"no benchmark files under {workdir / 'benchmarks'}; run the workflow first")
    print(f"{'rule':<20} {'jobs':>5} {'max s':>9} {'max rss MB':>11}")
    for rule, (jobs, seconds, rss) in sorted(found.items()):
        print(f"{rule:<20} {jobs:>5} {seconds:>9.1f} {rss:>11.0f}")
    print("\n# twice the peaks, for profiles/slurm/config.yaml")
    print("set-resources:")
    for rule, (_, seconds, rss) in sorted(found.items()):
        runtime = max(1, math.ceil(2 * seconds / 60))
        mem_mb = max(500, math.ceil(2 * rss / 100) * 100)
        print(f"  {rule}:\n    runtime: {runtime}\n    mem_mb: {mem_mb}")


if __name__ == "__main__":
    main()
