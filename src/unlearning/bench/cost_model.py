"""The fixed cost of a whole config: planned jobs per rule (a dry run) times the measured fixed
seconds of a job of that rule. Steps are left out: they depend on the data and the model, while
the fixed cost is paid per job whatever it computes."""

from __future__ import annotations

from typing import Any

#: Rule -> the benchmarked job it runs like.
MEASURED_AS = {
    "train_original": "train",
    # a retrain job trains and then evaluates, like an unlearning job (scikit-learn included)
    "train_retrain": "unlearn",
    "unlearn": "unlearn",
    "evaluate_original": "evaluate",
}


def fixed_cost(jobs_by_rule: dict[str, int], fixed_s: dict[str, float]) -> dict[str, Any]:
    """Per rule: jobs, fixed seconds per job and in all; rules without a benchmarked twin are
    counted but not costed, and listed."""
    rules, total_s, uncosted = {}, 0.0, {}
    for rule, jobs in sorted(jobs_by_rule.items()):
        twin = MEASURED_AS.get(rule)
        if twin is None or twin not in fixed_s:
            uncosted[rule] = jobs
            continue
        seconds = jobs * fixed_s[twin]
        rules[rule] = {"jobs": jobs, "fixed_s_per_job": fixed_s[twin], "fixed_s": seconds}
        total_s += seconds
    return {
        "rules": rules,
        "fixed_hours": total_s / 3600,
        "costed_jobs": sum(r["jobs"] for r in rules.values()),
        "uncosted_jobs": uncosted,
    }


def markdown(model: dict[str, Any], config: str, device: str) -> list[str]:
    lines = [
        f"Fixed cost of `{config}` on {device}: planned jobs × measured fixed seconds per job "
        "(the steps' own time comes on top).",
        "",
        "| Rule | Jobs | Fixed s / job | Fixed hours |",
        "| --- | --- | --- | --- |",
    ]
    for rule, r in model["rules"].items():
        lines.append(
            f"| {rule} | {r['jobs']:,} | {r['fixed_s_per_job']:.2f} | {r['fixed_s'] / 3600:.2f} |"
        )
    lines.append(
        f"| **all costed** | {model['costed_jobs']:,} | | **{model['fixed_hours']:.2f}** |"
    )
    if model["uncosted_jobs"]:
        rest = ", ".join(f"{rule} {n}" for rule, n in model["uncosted_jobs"].items())
        lines += ["", f"Not costed (no benchmarked job of their kind): {rest}."]
    return lines
