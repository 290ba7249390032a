"""The warm worker (unlearning.worker) and the benchmark files that account for it
(unlearning.benchmarks): a job handed to the worker behaves as the same script run on its own
(exit code, streams, environment, folder, signals), and its work lands in its benchmark file."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from unlearning import benchmarks, worker

REPO = Path(__file__).resolve().parents[1]
SRC = str(REPO / "src")

# A job script as Snakemake would run it: a ``snakemake`` object with a log, then the hand-over.
SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from types import SimpleNamespace
    snakemake = SimpleNamespace(log=["logs/demo/job.log"])
    from unlearning.worker import hand_to_worker, in_fork
    hand_to_worker()
    mode = os.environ.get("DEMO_MODE", "ok")
    print(f"pid={os.getpid()} parent={os.getppid()} fork={in_fork()} cwd={os.getcwd()}")
    print("to stderr", file=sys.stderr)
    print(f"argv={sys.argv[1:]} var={os.environ.get('DEMO_VAR')}")
    if mode == "exit3":
        sys.exit(3)
    if mode == "raise":
        raise ValueError("boom")
    if mode == "sleep":
        open("started.tmp", "w").write(str(os.getpid()))
        os.rename("started.tmp", "started")
        time.sleep(60)
    sum(i * i for i in range(2_000_000))  # some CPU for the share
    """
)


@pytest.fixture
def served(tmp_path):
    """A worker that preloads nothing (fast), serving this test process's jobs."""
    path = str(tmp_path / "socket")
    env = {**os.environ, "PYTHONPATH": SRC}
    code = f"from unlearning.worker import serve; serve({path!r}, preload=(), parent={os.getpid()})"
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.time() + 30
    while not os.path.exists(path):
        assert time.time() < deadline, "the worker did not start"
        time.sleep(0.05)
    yield path
    process.terminate()
    process.wait(timeout=10)


def run_job(tmp_path, socket_path, mode="ok", **kwargs):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": SRC, "DEMO_MODE": mode, "DEMO_VAR": "seen"}
    if socket_path:
        env[worker.ENV] = socket_path
    return subprocess.run(
        [sys.executable, str(script), "a1", "b2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def fields(stdout):
    return dict(re.findall(r"(\w+)=(\S+)", stdout))


def test_job_runs_in_a_fork_with_its_streams_folder_arguments_and_environment(tmp_path, served):
    result = run_job(tmp_path, served)
    assert result.returncode == 0, result.stderr
    seen = fields(result.stdout)
    assert seen["fork"] == "True"
    assert int(seen["parent"]) != os.getpid()  # the worker's child, not the job's process
    assert seen["cwd"] == str(tmp_path)
    assert seen["var"] == "seen"
    assert "argv=['a1', 'b2']" in result.stdout
    assert "to stderr" in result.stderr
    # The fork's share is written beside the benchmark file the log names.
    share = benchmarks.worker_share_path(tmp_path / "benchmarks/demo/job.tsv")
    assert share.exists()


def test_without_a_worker_the_script_runs_in_its_own_process(tmp_path):
    result = run_job(tmp_path, None)
    assert result.returncode == 0
    assert fields(result.stdout)["fork"] == "False"
    unreachable = run_job(tmp_path, str(tmp_path / "no-such-socket"))
    assert unreachable.returncode == 0
    assert fields(unreachable.stdout)["fork"] == "False"


def test_exit_codes_and_tracebacks_are_the_scripts_own(tmp_path, served):
    exited = run_job(tmp_path, served, mode="exit3")
    assert exited.returncode == 3
    raised = run_job(tmp_path, served, mode="raise")
    assert raised.returncode == 1
    assert "ValueError: boom" in raised.stderr
    assert "Traceback" in raised.stderr
    # A failed job records no share: Snakemake writes no benchmark for it.
    assert not benchmarks.worker_share_path(tmp_path / "benchmarks/demo/job.tsv").exists()


def wait_for(path, seconds=30):
    deadline = time.time() + seconds
    while not path.exists():
        assert time.time() < deadline
        time.sleep(0.05)


def gone(pid, seconds=10):
    """Whether process ``pid`` ended (the worker reaps its forks within a second)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if _zombie(pid):
            return True
        time.sleep(0.1)
    return False


def sleeping_job(tmp_path, socket_path):
    """A job that sleeps in the worker: (the job's process, the pid of the fork running it)."""
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": SRC, "DEMO_MODE": "sleep", worker.ENV: socket_path}
    client = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env)
    wait_for(tmp_path / "started")
    return client, int((tmp_path / "started").read_text())


def test_a_signal_to_the_job_reaches_its_fork(tmp_path, served):
    client, fork = sleeping_job(tmp_path, served)
    assert fork != client.pid
    client.send_signal(signal.SIGTERM)
    assert client.wait(timeout=30) != 0
    assert gone(fork)


def test_a_killed_job_takes_its_fork_with_it(tmp_path, served):
    client, fork = sleeping_job(tmp_path, served)
    assert not gone(fork, seconds=0.5)
    client.kill()  # what Snakemake does to running jobs when another fails
    client.wait(timeout=30)
    assert gone(fork), "the fork outlived its job"


def test_the_worker_ends_with_its_snakemake_process(tmp_path):
    folder = tmp_path / "unlearning-worker-test"  # as worker.start() names it
    folder.mkdir()
    path = str(folder / "socket")
    code = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'unlearning.worker', {path!r}, "
        "str(__import__('os').getpid())])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(1)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    parent = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    served_pid = int(parent.stdout.split()[0])
    deadline = time.time() + 60
    while not _zombie(served_pid):
        assert time.time() < deadline, "the worker outlived the process that started it"
        time.sleep(0.2)
    assert not folder.exists(), "the worker left its socket folder behind"


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


# --- benchmark files -----------------------------------------------------------------------------

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_benchmark_file_of_a_log():
    assert benchmarks.benchmark_for_log("logs/unlearn/d/seed0/c/psg/default.log") == Path(
        "benchmarks/unlearn/d/seed0/c/psg/default.tsv"
    )
    assert benchmarks.benchmark_for_log("elsewhere/x.log") is None
    assert benchmarks.benchmark_for_log("/abs/logs/x.log") is None


def test_every_rule_spells_its_log_and_benchmark_alike():
    """The job's process finds its benchmark file from its log: logs/<p>.log, benchmarks/<p>.tsv."""
    pairs = 0
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule |checkpoint )", smk.read_text()):
            log = re.search(r"\n    log:\n        \"([^\"]+)\"", block)
            bench = re.search(r"\n    benchmark:\n        \"([^\"]+)\"", block)
            if bench:
                assert log, f"{smk.name}: a rule with a benchmark and no log"
                assert benchmarks.benchmark_for_log(log.group(1)) == Path(bench.group(1)), block
                pairs += 1
    assert pairs >= 15


def test_the_rules_that_start_a_worker_are_those_whose_scripts_use_it():
    common = (REPO / "rules/common.smk").read_text()
    listed = set(re.findall(r'"(\w+)"', re.search(r"WORKER_RULES = \{(.*?)\}", common, re.S)[1]))
    using = set()
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for name, script in re.findall(
            r'^rule (\w+):\n(?:    .*\n|\n)*?    script:\n +"([^"]+)"', smk.read_text(), flags=re.M
        ):
            if "hand_to_worker()" in (REPO / "rules" / script).resolve().read_text():
                using.add(name)
    assert using and listed == using


def write_tsv(path, row):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + row + "\n")


def test_the_share_is_added_once_into_the_benchmark(tmp_path):
    tsv = tmp_path / "benchmarks/a/job.tsv"
    share = {"cpu_time": 4.5, "max_rss": 300.0, "io_in": 1.0, "io_out": 2.0}
    benchmarks.write_worker_share(tsv, share)
    time.sleep(0.01)
    write_tsv(tsv, "10.0\t0:00:10\t20.0\t30.0\t5.0\t6.0\tNA\tNA\t1.0\t0.5")
    assert benchmarks.job_cpu_seconds(tsv) == pytest.approx(5.0)
    assert benchmarks.merge_worker_shares(tmp_path / "benchmarks") == 1
    import csv

    row = next(csv.DictReader(tsv.open(), delimiter="\t"))
    assert float(row["cpu_time"]) == pytest.approx(5.0)
    assert float(row["max_rss"]) == pytest.approx(320.0)
    assert float(row["io_out"]) == pytest.approx(2.0)
    assert float(row["mean_load"]) == pytest.approx(50.0)
    assert not benchmarks.worker_share_path(tsv).exists()
    # merged once: reading or merging again adds nothing
    assert benchmarks.job_cpu_seconds(tsv) == pytest.approx(5.0)
    assert benchmarks.merge_worker_shares(tmp_path / "benchmarks") == 0


def test_a_share_newer_than_its_benchmark_is_not_added(tmp_path):
    """A job whose benchmark Snakemake has not written (killed in between, or still running) keeps
    its share aside: the older file is another run's."""
    tsv = tmp_path / "benchmarks/a/job.tsv"
    write_tsv(tsv, "10.0\t0:00:10\t20.0\t30.0\t5.0\t6.0\t0\t0\t1.0\t0.5")
    old = time.time() - 100
    os.utime(tsv, (old, old))
    benchmarks.write_worker_share(tsv, {"cpu_time": 4.5})
    assert benchmarks.job_cpu_seconds(tsv) == pytest.approx(0.5)
    assert benchmarks.merge_worker_shares(tmp_path / "benchmarks") == 0


def test_a_new_run_removes_the_folders_of_workers_killed_outright(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead, alive = tmp_path / "unlearning-worker-dead", tmp_path / "unlearning-worker-alive"
    sockets = []
    for folder in (dead, alive):
        folder.mkdir()
        bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        bound.bind(str(folder / "socket"))
        sockets.append(bound)
    sockets[1].listen(1)
    sockets[0].close()  # its file stays, as after a SIGKILL
    worker._remove_stale_folders()
    assert not dead.exists()
    assert alive.exists()
    sockets[1].close()
