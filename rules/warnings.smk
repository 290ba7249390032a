# Warnings, while planning and from the jobs' logs, repeated when the run ends: one job's warning
# among hundreds of logs is easily missed (unlearning.run_warnings).
import time

from unlearning.config_check import config_warnings
from unlearning.run_warnings import MARK, report

RUN_STARTED = time.time()
PLANNING_WARNINGS = config_warnings(config, SETTINGS)
for _warning in PLANNING_WARNINGS:
    print(f"{MARK}{_warning}", file=sys.stderr)


onsuccess:
    report(PLANNING_WARNINGS, "logs", RUN_STARTED)


onerror:
    report(PLANNING_WARNINGS, "logs", RUN_STARTED)
