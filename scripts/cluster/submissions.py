"""How many Slurm jobs a run submits, and what each submission costs besides its jobs' work.

    python scripts/cluster/submissions.py count [--profile DIR] [--no-groups] [SNAKEMAKE_ARGS...]
    python scripts/cluster/submissions.py costs RUN_LOG [WORKDIR]

`count` plans the run (`snakemake -n` with the profile, default profiles/slurm, in the current
folder) and prints the Slurm submissions per rule or job group: every job that Snakemake does not
run itself, with the jobs of one group submission counted once. `--no-groups` plans with the
profile's `groups` and `group-components` left out. Example:

    python scripts/cluster/submissions.py count --configfile config/paper.yaml

`costs` reads a finished run: RUN_LOG is Snakemake's output of a run with the profile (stdout and
stderr), WORKDIR its folder (default: the current one). The run must keep its Slurm logs
(`--slurm-keep-successful-logs`) and Slurm must still know its jobs (`scontrol show job`, for
MinJobAge after they ended). For each submission it prints the jobs it carried, how long it
waited in the queue, how long it held its allocation, the work of its jobs (the `s` column of
their benchmark files) and the rest of the allocation (overhead), and the delay until Snakemake
saw it finish (Slurm's end to the run's "Finished" line). Times are whole seconds (Slurm's).
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")
# A job's block in Snakemake's output: "rule name:" (or "localrule name:"), then its indented
# lines; a group's jobs are printed indented by four more spaces under "Group job <name>".
JOB_BLOCK = re.compile(r"^( *)(local)?rule (\w+):\n((?:\1    .*\n)+)", re.M)
GROUP_HEADER = re.compile(r"^\[[^\]]+\] Group job (\S+) ", re.M)
STAMP = re.compile(r"^\s*\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]\s*$")
FINISHED = re.compile(r"^\s*Finished jobid: (\d+) ")
LOCALRULES = re.compile(r"^localrules:\n((?:[ \t]+\w+,?\n)+)", re.M)
RULE = re.compile(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", re.M)
ACTION = re.compile(r"^    (script|shell|run|wrapper|notebook|cwl):", re.M)


def local_rules(workdir: Path) -> set[str]:
    """Rules whose jobs Snakemake runs itself on a cluster: `localrules`, `localrule: True`, and
    rules without an action (targets such as `all`)."""
    local: set[str] = set()
    for path in [workdir / "Snakefile", *sorted((workdir / "rules").glob("*.smk"))]:
        text = path.read_text()
        for block in LOCALRULES.findall(text):
            local.update(re.findall(r"\w+", block))
        for name, body in RULE.findall(text):
            if "localrule: True" in body or not ACTION.search(body):
                local.add(name)
    return local


def wildcards(body: str) -> dict[str, str]:
    """A job block's wildcards (`wildcards: a=1, b=x`)."""
    line = re.search(r"^\s*wildcards: (.*)$", body, re.M)
    return dict(item.split("=", 1) for item in line.group(1).split(", ")) if line else {}


class PlannedJob(NamedTuple):
    rule: str
    wildcards: dict[str, str]
    runtime: int  # minutes
    group: str | None  # the job group's name; None: a submission of its own


def planned_submissions(output: str, local: set[str]) -> list[list[PlannedJob]]:
    """One entry per submission in a dry run's output: its jobs."""
    groups = {match.start(): match.group(1) for match in GROUP_HEADER.finditer(output)}
    starts = sorted(groups)
    members: dict[int, list[PlannedJob]] = {start: [] for start in starts}
    submissions = []
    for match in JOB_BLOCK.finditer(output):
        body = match.group(4)
        runtime = re.search(r"^\s*resources: .*\bruntime=(\d+)", body, re.M)
        minutes = int(runtime.group(1)) if runtime else 0
        if match.group(1):  # indented: a job of the latest group printed before it
            start = max(s for s in starts if s < match.start())
            job = PlannedJob(match.group(3), wildcards(body), minutes, groups[start])
            members[start].append(job)
        elif match.group(3) not in local:
            job = PlannedJob(match.group(3), wildcards(body), minutes, None)
            submissions.append([job])
    return submissions + [members[start] for start in starts]


def count(args: argparse.Namespace, snakemake_args: list[str]) -> None:
    profile_dir = Path(args.profile)
    with tempfile.TemporaryDirectory() as scratch:
        if args.no_groups:
            profile = yaml.safe_load((profile_dir / "config.yaml").read_text())
            for key in ("groups", "group-components"):
                profile.pop(key, None)
            profile_dir = Path(scratch)
            (profile_dir / "config.yaml").write_text(yaml.safe_dump(profile))
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--profile", str(profile_dir)]
            + snakemake_args,
            capture_output=True,
            text=True,
        )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        sys.exit(output[-3000:])
    submissions = planned_submissions(output, local_rules(Path.cwd()))
    kinds: dict[str, list[list[PlannedJob]]] = {}
    for jobs in submissions:
        rules = sorted({job.rule for job in jobs})
        name = "group of " + ", ".join(rules) if jobs[0].group else rules[0]
        kinds.setdefault(name, []).append(jobs)
    # a submission's time limit: its jobs run one after another
    print(f"{'submissions of':<50} {'count':>6} {'jobs':>6} {'longest time limit':>19}")
    for name, found in sorted(kinds.items()):
        jobs = sum(len(jobs) for jobs in found)
        longest = max(sum(job.runtime for job in jobs) for jobs in found)
        print(f"{name:<50} {len(found):>6} {jobs:>6} {longest:>15} min")
    jobs = sum(len(jobs) for jobs in submissions)
    print(f"{'total':<50} {len(submissions):>6} {jobs:>6}")


@dataclass
class Submission:
    slurm_id: int
    log: Path
    benchmarks: list[str] = field(default_factory=list)


def run_submissions(output: str) -> list[Submission]:
    """Each submission of a run, with the benchmark files of the jobs its Slurm log names."""
    found = []
    for _, slurm_id, log in SUBMITTED.findall(output):
        text = Path(log).read_text()
        benchmarks = list(dict.fromkeys(re.findall(r"^\s*benchmark: (\S+)$", text, re.M)))
        found.append(Submission(int(slurm_id), Path(log), benchmarks))
    return found


def finish_times(output: str) -> dict[str, datetime]:
    """benchmark file -> when the run printed its job's "Finished jobid" line."""
    benchmark_of = {}
    for match in JOB_BLOCK.finditer(output):
        body = match.group(4)
        jobid = re.search(r"jobid: (\d+)", body)
        benchmark = re.search(r"benchmark: (\S+)", body)
        if jobid and benchmark:
            benchmark_of[jobid.group(1)] = benchmark.group(1)
    times, stamp = {}, None
    for line in output.splitlines():
        if match := STAMP.match(line):
            stamp = datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")
        elif (match := FINISHED.match(line)) and match.group(1) in benchmark_of:
            times[benchmark_of[match.group(1)]] = stamp
    return times


def slurm_times(slurm_id: int) -> dict[str, datetime]:
    shown = subprocess.run(
        ["scontrol", "-o", "show", "job", str(slurm_id)], capture_output=True, text=True
    ).stdout
    record = dict(re.findall(r"(\w+)=(\S*)", shown))
    if "EndTime" not in record:
        sys.exit(f"Slurm no longer knows job {slurm_id} (MinJobAge)")
    return {
        key: datetime.fromisoformat(record[key]) for key in ("SubmitTime", "StartTime", "EndTime")
    }


def work_seconds(workdir: Path, benchmark: str) -> float:
    with (workdir / benchmark).open() as handle:
        return float(next(csv.DictReader(handle, delimiter="\t"))["s"])


def costs(args: argparse.Namespace) -> None:
    output = Path(args.run_log).read_text()
    workdir = Path(args.workdir).resolve()
    finished = finish_times(output)
    rows = []
    for submission in run_submissions(output):
        times = slurm_times(submission.slurm_id)
        held = (times["EndTime"] - times["StartTime"]).total_seconds()
        work = sum(work_seconds(workdir, b) for b in submission.benchmarks)
        seen = max(finished[b] for b in submission.benchmarks)
        rows.append(
            (
                submission.slurm_id,
                submission.log.parent.relative_to(workdir / ".snakemake/slurm_logs").parts[0],
                len(submission.benchmarks),
                (times["StartTime"] - times["SubmitTime"]).total_seconds(),
                held,
                work,
                held - work,
                (seen - times["EndTime"]).total_seconds(),
            )
        )
    header = ("slurm id", "submission", "jobs", "queued", "held", "work", "overhead", "seen after")
    print("{:>8} {:<40} {:>4} {:>6} {:>6} {:>7} {:>8} {:>10}".format(*header))
    for row in rows:
        print("{:>8} {:<40.40} {:>4} {:>6.0f} {:>6.0f} {:>7.1f} {:>8.1f} {:>10.0f}".format(*row))
    n = len(rows)
    totals = [sum(row[i] for row in rows) for i in range(2, 8)]
    print(
        f"{n} submissions, {totals[0]} jobs: per submission {totals[1] / n:.1f} s queued, "
        f"{totals[2] / n:.1f} s held, {totals[3] / n:.1f} s work, {totals[4] / n:.1f} s "
        f"overhead, seen {totals[5] / n:.1f} s after it ended; overhead per job "
        f"{totals[4] / totals[0]:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("count", help="Slurm submissions a run would make (dry run)")
    plan.add_argument("--profile", default=str(ROOT / "profiles/slurm"))
    plan.add_argument("--no-groups", action="store_true", help="leave the profile's groups out")
    spent = commands.add_parser("costs", help="what each submission of a finished run cost")
    spent.add_argument("run_log")
    spent.add_argument("workdir", nargs="?", default=".")
    args, rest = parser.parse_known_args()
    if args.command == "count":
        count(args, rest)
    else:
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        costs(args)


if __name__ == "__main__":
    main()
