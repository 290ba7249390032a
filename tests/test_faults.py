"""Faults, end to end: a killed job, an interrupted ``--forcerun``, a checkpoint corrupted in place
and a wrong device. Each ends with every result file present, loadable and equal (timings apart)
to an uninterrupted run's, and no table older than the metrics it shows.

One uninterrupted run of a small slice of test_workflow's tiny digits config (one condition,
psg, finetune and the compose run built on them) is the reference; every fault happens in a
copy of it, so each test reruns only what its fault invalidates.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import torch
from test_workflow import COST_KEYS, TINY, copy_workflow, write_config
from test_workflow import snakemake as run_snakemake

from unlearning.atomic import current_umask
from unlearning.models import load_checkpoint

pytestmark = pytest.mark.e2e

CONFIG = copy.deepcopy(TINY)
CONFIG["datasets"]["digits"]["conditions"] = {
    "class_1": TINY["datasets"]["digits"]["conditions"]["class_1"]
}
CONFIG["datasets"]["digits"]["methods"] = ["psg/default", "finetune", "compose/default"]
CONFIG["methods"] = {m: TINY["methods"][m] for m in ("psg", "finetune", "compose")}
BASE = "results/digits/seed0/class_1"
TIMING_KEYS = COST_KEYS | {"seconds", "own_seconds"}
#: Drawn files embed creation dates; they are checked for presence and freshness only.
UNCOMPARED = (".png", ".pdf", ".html", ".md", ".tex", ".rst")


def snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    return run_snakemake(work, *args, config="faults.yaml")


def start_snakemake(work: Path, *args: str) -> subprocess.Popen:
    """Snakemake in its own process group, as a terminal runs it (Ctrl-C reaches the group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--configfile", "faults.yaml", "--cores", "2", *args],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_answer_ctrl_c,
    )


def _answer_ctrl_c() -> None:
    """Let the child take Ctrl-C as a terminal's foreground job does. A shell that starts these
    tests in the background (``make test &``) has them ignore SIGINT, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


def wait_for_job(process: subprocess.Popen, log: Path, timeout: float = 300) -> psutil.Process:
    """The job process once it has opened its log, i.e. started its work."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0][-3000:]
        if log.exists():
            for child in psutil.Process(process.pid).children(recursive=True):
                try:
                    if any(part.endswith("unlearn.py") for part in child.cmdline()):
                        return child
                except psutil.NoSuchProcess:
                    continue
        time.sleep(0.02)
    raise AssertionError(f"no job wrote {log} within {timeout} s")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("faults") / "reference")
    write_config(work, "faults.yaml", CONFIG)
    result = snakemake(work)
    assert result.returncode == 0, result.stderr[-4000:]
    return work


@pytest.fixture
def work(reference, tmp_path) -> Path:
    """A copy of the finished reference run, modification times and Snakemake's records kept."""
    copied = tmp_path / "work"
    shutil.copytree(reference, copied, symlinks=True)
    return copied


def _drop(record: dict, keys) -> dict:
    return {k: v for k, v in record.items() if k not in keys}


def results(work: Path) -> dict[str, object]:
    """Every result file in a comparable form; checkpoints are loaded (checksum verified)."""
    out: dict[str, object] = {}
    for path in sorted((work / "results").rglob("*")):
        if path.is_dir() or path.name == ".snakemake_timestamp":  # a folder output's marker
            continue
        name = str(path.relative_to(work))
        assert not path.name.endswith(".tmp"), name
        if path.suffix == ".json":
            out[name] = _drop(json.loads(path.read_text()), TIMING_KEYS)
        elif path.suffix == ".pt":
            model, _ = load_checkpoint(path)
            out[name] = {k: v.numpy().tobytes() for k, v in model.state_dict().items()}
        elif path.suffix == ".npz":
            with np.load(path) as arrays:
                out[name] = {k: arrays[k].tobytes() for k in arrays.files}
        elif path.suffix == ".csv":
            table = pd.read_csv(path)
            timing = [c for c in table.columns if c in TIMING_KEYS or "seconds" in c]
            out[name] = table.drop(columns=timing).to_json()
        else:
            assert path.suffix in UNCOMPARED, name
            assert path.stat().st_size > 0, name
            out[name] = None
    return out


def assert_fresh(work: Path) -> None:
    """No table or figure older than a metrics file, and nothing left to do."""
    metrics = max(p.stat().st_mtime for p in (work / "results").rglob("metrics.json"))
    tables = (work / "results/tables/metrics.csv").stat().st_mtime
    assert tables >= metrics
    for path in (work / "results/tables").glob("summary.*"):
        assert path.stat().st_mtime >= tables, path
    for path in (work / "results/figures").rglob("*.png"):
        assert path.stat().st_mtime >= tables, path
    result = snakemake(work, "-n")
    assert "Nothing to be done" in result.stdout + result.stderr, result.stdout[-3000:]


def assert_recovered(work: Path, reference: Path) -> None:
    expected, found = results(reference), results(work)
    assert sorted(found) == sorted(expected)
    different = [name for name in expected if found[name] != expected[name]]
    assert not different, different
    assert_fresh(work)


def test_the_reference_is_complete(reference):
    found = results(reference)
    for run in ("original", "retrain", "psg/default", "finetune/default", "compose/default"):
        assert f"{BASE}/{run}/metrics.json" in found, run
    assert f"{BASE}/psg/default/tsne.npz" in found
    assert_fresh(reference)


def test_outputs_get_the_mode_the_umask_gives(reference):
    """Every file and folder the run wrote is as readable as a plain ``open`` would make it,
    so collaborators sharing results/ and resources/ can read them."""
    umask = current_umask()
    wrong = [
        str(path.relative_to(reference))
        for folder in ("results", "resources")
        for path in [reference / folder, *(reference / folder).rglob("*")]
        if stat.S_IMODE(path.stat().st_mode) != (0o777 if path.is_dir() else 0o666) & ~umask
    ]
    assert not wrong, wrong


def test_a_job_killed_mid_run_is_redone(work, reference):
    """SIGKILL to the whole process group (snakemake and the running job), as a lost session or
    the out-of-memory killer leaves it; Snakemake's own advice (--unlock) and a plain run
    recover."""
    shutil.rmtree(work / BASE / "finetune/default")
    log = work / "logs/unlearn/digits/seed0/class_1/finetune/default.log"
    log.unlink()
    process = start_snakemake(work)
    wait_for_job(process, log)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert not (work / BASE / "finetune/default/metrics.json").exists()

    result = snakemake(work)
    if result.returncode != 0 and "--unlock" in result.stderr:
        assert snakemake(work, "--unlock").returncode == 0
        result = snakemake(work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_recovered(work, reference)


def test_an_interrupted_forcerun_is_finished_by_a_plain_run(work, reference):
    """Ctrl-C (SIGINT to the process group) while --forcerun replaces the unlearning results:
    the jobs it stopped leave their files missing, and a plain run must rebuild them and the
    tables rather than say there is nothing to be done."""
    log = work / "logs/unlearn/digits/seed0/class_1/psg/default.log"
    log.unlink(missing_ok=True)  # the reference run's log would look like this run's job
    process = start_snakemake(work, "--forcerun", "unlearn")
    job = wait_for_job(process, log)
    # Ctrl-C again while Snakemake has not stopped: a single SIGINT that lands while Snakemake's
    # main thread is outside its scheduling loop is not always honoured.
    for _ in range(240):
        os.killpg(process.pid, signal.SIGINT)
        try:
            output = process.communicate(timeout=0.5)[0]
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        process.kill()
        raise AssertionError("Snakemake did not stop after a minute of Ctrl-C")
    assert process.returncode != 0, output[-3000:]
    assert not job.is_running()
    missing = [
        run
        for run in ("psg/default", "finetune/default", "compose/default")
        if not (work / BASE / run / "model.pt").exists()
    ]
    assert missing, "the interruption removed nothing: the test would prove nothing"

    result = snakemake(work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_recovered(work, reference)


def test_a_checkpoint_corrupted_in_place_is_named_and_the_advice_works(work, reference):
    path = work / BASE / "finetune/default/model.pt"
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights: it still unpickles
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    # compose reads it; nothing else would notice (the modification time did not change)
    result = snakemake(work, "--forcerun", f"{BASE}/compose/default/model.pt")
    assert result.returncode != 0
    name = f"{BASE}/finetune/default/model.pt"
    message = next(line for line in result.stderr.splitlines() if "is corrupt" in line)
    assert message.startswith(f"error in unlearn compose/default: Checkpoint {name} is corrupt")
    assert "delete it and run snakemake again, which reruns rule unlearn" in message
    assert "Traceback" not in result.stderr

    path.unlink()  # the advice, as written
    result = snakemake(work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_recovered(work, reference)


def test_verify_finds_a_truncated_checkpoint_and_a_plain_run_rebuilds_it(work, reference):
    """A checkpoint truncated with its modification time kept: Snakemake sees nothing, so a
    plain run says there is nothing to do; ``snakemake verify`` names it, and the next plain run
    rebuilds it and everything downstream, tables included."""
    path = work / BASE / "finetune/default/model.pt"
    stat_before = path.stat()
    path.write_bytes(path.read_bytes()[: stat_before.st_size // 2])
    os.utime(path, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    assert "Nothing to be done" in snakemake(work, "-n").stdout

    result = snakemake(work, "verify")
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    corrupt = [line for line in output.splitlines() if line.startswith("corrupt: ")]
    assert corrupt == [
        f"corrupt: {BASE}/finetune/default/model.pt: its bytes do not match the sha256 "
        "recorded in model.json (removed; the next run rebuilds it)"
    ], output[-3000:]
    checked = len(list((work / "results").rglob("model.pt"))) + 1
    assert f"verify: {checked} checkpoints under results checked, 1 corrupt" in output

    result = snakemake(work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_recovered(work, reference)
    clean = snakemake(work, "verify")
    assert "checked, 0 corrupt" in clean.stdout + clean.stderr


def _scheduled(work: Path, config: str, *targets: str) -> str:
    result = run_snakemake(work, "-n", *targets, config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_a_new_import_path_or_content_reruns_what_depends_on_it(work):
    """An imported original is a rule parameter by path and sha256: pointing at another file,
    or new content under an older modification time, imports it again and reruns downstream."""
    own, older = work / "own.pt", time.time() - 3600
    shutil.copy(work / "results/digits/seed0/original/model.pt", own)
    os.utime(own, (older, older))
    imported = copy.deepcopy(CONFIG)
    imported["datasets"]["digits"]["original"] = {"checkpoint": "own.pt"}
    write_config(work, "import.yaml", imported)
    result = run_snakemake(work, config="import.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in _scheduled(work, "import.yaml")

    shutil.copy2(own, work / "moved.pt")  # same bytes and times, another path
    imported["datasets"]["digits"]["original"] = {"checkpoint": "moved.pt"}
    write_config(work, "moved.yaml", imported)
    assert "rule train_original" in _scheduled(work, "moved.yaml")

    state = torch.load(own, weights_only=True)
    state["head.bias"] += 0.5
    torch.save(state, own)
    os.utime(own, (older, older))  # older than every output: only the content changed
    planned = _scheduled(work, "import.yaml")
    assert "rule train_original" in planned and "rule unlearn" in planned, planned[-3000:]


def test_warnings_are_repeated_when_the_run_ends(work):
    """A job's warning (a fraction that rounds to one image) and a planning warning (an override
    nothing uses) are listed again at the end of the run, after hundreds of log lines."""
    config = copy.deepcopy(CONFIG)
    digits = config["datasets"]["digits"]
    digits["conditions"]["few"] = {"kind": "class_fraction", "class": 1, "fraction": 0.01}
    digits["method_settings"] = {"boundary_shrink": {"params": {"epsilon": 0.1}}}
    config["methods"]["boundary_shrink"] = {"params": {"epsilon": 0.3}}
    digits["methods"] = CONFIG["datasets"]["digits"]["methods"]
    write_config(work, "warn.yaml", config)
    result = run_snakemake(work, f"{BASE.replace('class_1', 'few')}/split.json", config="warn.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    end = result.stderr[result.stderr.index("2 warning(s) in this run:") :].splitlines()
    assert end[1].startswith("  warning: datasets.digits.method_settings.boundary_shrink is not")
    assert end[2].startswith("  warning: Condition 'few': fraction 0.01 of 128 training images")
    assert end[2].endswith("(logs/make_split/digits/seed0/few.log)")


def test_switching_the_device_reruns_nothing(reference):
    for device in ("cpu", "auto"):
        result = snakemake(reference, "-n", "--config", f"device={device}")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Nothing to be done" in result.stdout + result.stderr, device


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_an_unavailable_device_is_refused_before_any_job(work):
    model = work / "results/digits/seed0/original/model.pt"
    before = model.stat().st_mtime_ns
    result = snakemake(work, "--config", "device=cuda", "--forcerun", "train_original")
    assert result.returncode != 0
    assert "Config asks for device 'cuda' but no CUDA GPU is visible" in result.stderr
    assert "rule train_original" not in result.stdout + result.stderr
    assert model.stat().st_mtime_ns == before
