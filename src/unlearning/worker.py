"""A warm worker: the torch jobs of a local run start from a process that has already imported
torch, scikit-learn and the library, instead of paying for the imports once per job.

How it works:

* ``snakemake`` starts one worker per local run (the Snakefile's ``onstart``); it imports the
  heavy modules once, then waits on a Unix socket whose path is in ``$UNLEARNING_WORKER``.
* A job script calls :func:`hand_to_worker` first. Snakemake's process for the job (the *client*)
  then sends the worker its script, arguments, working folder, environment and standard streams.
  The worker forks; the fork runs the script exactly as the client would have, writing to the
  client's streams, and reports its exit code and its resource use; the client exits with that code.
* Every job is a fresh fork of a worker that has never run a job, so a job cannot see what another
  left behind: seeds, thread counts, modules' state, GPU memory (the worker never touches CUDA;
  each fork sets up its own).
* Where there is no worker (a cluster job, ``worker: false``, a script run by hand), or it cannot be
  reached, :func:`hand_to_worker` returns and the script runs in its own process as before.

Accounting: Snakemake's benchmark measures the client's process tree, which does not contain the
fork. The client therefore writes the fork's CPU time, peak memory and I/O beside the benchmark
file (:func:`unlearning.benchmarks.worker_share_path`); the end of the run adds them into the
benchmark file (:func:`unlearning.benchmarks.merge_worker_shares`), and every reader of benchmark
files adds a share not yet merged. So ``cpu_time`` still covers all of a job's work.

This module imports no torch: the client must stay light.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterable
from pathlib import Path

from unlearning.startup import flush_streams

#: The environment variable that carries the worker's socket path to the jobs.
ENV = "UNLEARNING_WORKER"

#: What the worker imports before its first fork: the jobs' own imports and the modules their
#: steps import later (the methods, scikit-learn for the membership attacks).
PRELOAD = (
    "snakemake.script",
    "unlearning.entry",
    "unlearning.steps.train",
    "unlearning.steps.unlearn",
    "unlearning.steps.evaluate",
    "unlearning.steps.embed_models",
    "unlearning.metrics.mia",
    "unlearning.audit.models",
    "sklearn.svm",
    "sklearn.linear_model",
)

_HEADER = struct.Struct("!I")
_FOLDER_PREFIX = "unlearning-worker-"
_IN_FORK = False


# --- client --------------------------------------------------------------------------------------


def hand_to_worker() -> None:
    """Run the calling job script in the worker, if one serves this run, and exit with its code;
    otherwise (or inside the worker's fork) return so the script runs here."""
    path = os.environ.get(ENV)
    if _IN_FORK or not path:
        return
    main = sys.modules["__main__"]
    # Snakemake runs a copy of the script with its ``snakemake`` object prepended and points
    # ``__file__`` at the original; the copy is ``__real_file__``.
    script = getattr(main, "__real_file__", None) or getattr(main, "__file__", None)
    if not script:
        return
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
    except OSError:
        return  # the worker is gone: this process does the work itself
    request = {
        "script": os.path.abspath(script),
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
    }
    try:
        _send(conn, request, fds=[0, 1, 2])
        started = _receive(conn)
    except OSError:
        started = None
    if not started:
        conn.close()
        return  # the worker could not take the job: run it here
    code, share = _wait_for(conn, started["pid"])
    if code == 0 and share is not None:
        log_files = getattr(getattr(main, "snakemake", None), "log", None) or []
        _record_share(log_files, share)
    _flush_and_exit(code)


def _wait_for(conn: socket.socket, pid: int) -> tuple[int, dict | None]:
    """Forward the signals a job receives to its fork, and wait for its report."""

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    try:
        report = _receive(conn)
    except OSError:
        report = None
    if report is None:
        print(
            "error: the worker process running this job ended without a result (killed, or out "
            "of memory?); rerun it, or set worker: false in the config to run jobs in their own "
            "processes.",
            file=sys.stderr,
        )
        return 1, None
    return int(report["code"]), report.get("share")


def _record_share(log_files: Iterable[str], share: dict) -> None:
    from unlearning.benchmarks import benchmark_for_log, write_worker_share

    for log_file in log_files:
        benchmark = benchmark_for_log(log_file)
        if benchmark is not None:
            write_worker_share(benchmark, share)
            return


def _flush_and_exit(code: int) -> None:
    flush_streams()
    os._exit(code)


# --- wire format ---------------------------------------------------------------------------------


def _send(conn: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    payload = json.dumps(message).encode()
    data = _HEADER.pack(len(payload)) + payload
    if fds:
        socket.send_fds(conn, [data[:1]], fds)
        data = data[1:]
    conn.sendall(data)


def _receive(conn: socket.socket, received: bytes = b"") -> dict | None:
    """The next message (``received``: its first bytes, already read); None if the peer closed."""
    buffer = received
    while len(buffer) < _HEADER.size:
        chunk = conn.recv(_HEADER.size - len(buffer))
        if not chunk:
            return None
        buffer += chunk
    (length,) = _HEADER.unpack(buffer[: _HEADER.size])
    payload = buffer[_HEADER.size :]
    while len(payload) < length:
        chunk = conn.recv(length - len(payload))
        if not chunk:
            return None
        payload += chunk
    return json.loads(payload)


def _receive_with_fds(conn: socket.socket, count: int) -> tuple[dict | None, list[int]]:
    """The next message and the ``count`` file descriptors sent with its first byte."""
    first, fds, _flags, _addr = socket.recv_fds(conn, 1, count)
    return (_receive(conn, first) if first else None), fds


# --- worker --------------------------------------------------------------------------------------


def serve(path: str, preload: Iterable[str] = PRELOAD, parent: int | None = None) -> None:
    """Listen on ``path``, import ``preload``, then fork one child per job until ``parent`` (the
    Snakemake process) ends or the worker is terminated. Connections made during the imports wait
    in the socket's queue, so no job falls back to importing on its own."""
    import importlib

    parent = os.getppid() if parent is None else parent
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(256)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for module in [*preload, *_method_modules()]:
            try:
                importlib.import_module(module)
            except ImportError:
                pass  # a job that needs it imports it (and reports the error) itself
        _prepare_torch()
        flush_streams()
        while os.getppid() == parent:
            _reap()
            ready, _, _ = select.select([listener], [], [], 1.0)
            if not ready:
                continue
            conn, _ = listener.accept()
            pid = os.fork()
            if pid == 0:
                listener.close()
                _run_child(conn)  # never returns
            conn.close()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        try:
            os.unlink(path)
            if os.path.basename(os.path.dirname(path)).startswith(_FOLDER_PREFIX):
                os.rmdir(os.path.dirname(path))  # the folder start() made, if nothing else is in it
        except OSError:
            pass


def _method_modules() -> list[str]:
    import pkgutil

    import unlearning.methods

    found = pkgutil.iter_modules(unlearning.methods.__path__)
    return [f"unlearning.methods.{module.name}" for module in found]


def _prepare_torch() -> None:
    """What every torch job does first and that is the same for all: done once, before forking."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    from unlearning.startup import skip_dynamo_import

    skip_dynamo_import(torch)
    # A fork cannot use a CUDA context its parent created: each job must set up its own.
    if torch.cuda.is_initialized():
        raise RuntimeError("the worker set up CUDA while importing; its forks could not use it")


def _reap() -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _run_child(conn: socket.socket) -> None:
    """The fork: become the job's process, run its script, report, exit."""
    global _IN_FORK
    _IN_FORK = True
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        request, fds = _receive_with_fds(conn, 3)
        if request is None or len(fds) != 3:
            os._exit(1)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        _send(conn, {"pid": os.getpid()})
        threading.Thread(target=_end_with_client, args=(conn,), daemon=True).start()
        from unlearning import startup

        startup.before_exit.append(lambda exit_code: _report(conn, exit_code))
        code = _run_script(request["script"])
    except BaseException:  # noqa: BLE001 (the fork must never return into the worker's loop)
        traceback.print_exc()
        code = 1
    _report(conn, code)
    _flush_and_exit(code)


def _run_script(script: str) -> int:
    import runpy

    sys.path.insert(0, os.path.dirname(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        traceback.print_exc()
        return 130
    except BaseException:  # noqa: BLE001 (printed as Python would, then the job fails)
        sys.excepthook(*sys.exc_info())
        return 1
    return 0


def _end_with_client(conn: socket.socket) -> None:
    """A job whose client is gone (killed by Snakemake) must not run on unseen."""
    try:
        conn.recv(1)
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGKILL)


_reported = False


def _report(conn: socket.socket, code: int) -> None:
    global _reported
    if _reported:
        return
    _reported = True
    flush_streams()
    from unlearning.benchmarks import own_share

    try:
        _send(conn, {"code": int(code), "share": own_share()})
    except OSError:
        pass


# --- the run's side ------------------------------------------------------------------------------


_process = None


def start(log_path: str | os.PathLike | None = None) -> str:
    """Start a worker for this process's jobs and export its socket path; return the path."""
    import subprocess

    global _process
    _remove_stale_folders()
    folder = tempfile.mkdtemp(prefix=_FOLDER_PREFIX)
    path = os.path.join(folder, "socket")
    log = open(log_path, "a") if log_path else subprocess.DEVNULL  # noqa: SIM115
    from unlearning.runtime import source_first

    src = str(Path(__file__).resolve().parents[1])
    _process = subprocess.Popen(
        [sys.executable, "-m", "unlearning.worker", path, str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONPATH": source_first(src, os.environ.get("PYTHONPATH"))},
    )
    if log is not subprocess.DEVNULL:
        log.close()
    os.environ[ENV] = path
    return path


def _remove_stale_folders() -> None:
    """Folders of workers killed outright (SIGKILL leaves their socket): nothing listens there."""
    import glob
    import shutil

    pattern = os.path.join(tempfile.gettempdir(), f"{_FOLDER_PREFIX}*", "socket")
    for stale in glob.glob(pattern):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(stale)
        except ConnectionRefusedError:
            shutil.rmtree(os.path.dirname(stale), ignore_errors=True)
        except OSError:
            pass  # another user's, or not a socket: leave it
        finally:
            probe.close()


def stop() -> None:
    """End the worker this process started (it also ends by itself when this process does)."""
    global _process
    path = os.environ.pop(ENV, None)
    if _process is not None:
        _process.terminate()
        try:
            _process.wait(timeout=10)
        except Exception:  # noqa: BLE001 (it ends with its parent anyway)
            _process.kill()
        _process = None
    if path:
        import shutil

        shutil.rmtree(Path(path).parent, ignore_errors=True)


def wait_until_listening(path: str, timeout_s: float = 300.0) -> None:
    """Wait for a worker that :func:`start` started to open its socket (its imports may still
    run: connections wait for them)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not os.path.exists(path):
        if time.monotonic() > deadline or (_process is not None and _process.poll() is not None):
            raise RuntimeError("the warm worker did not open its socket")
        time.sleep(0.05)


def in_fork() -> bool:
    """Whether this process is a fork of the warm worker running a job."""
    return _IN_FORK


if __name__ == "__main__":
    # Through the package's module, not this ``__main__`` copy: the jobs import that one and must
    # see the fork's flag.
    from unlearning.worker import serve as serve_jobs

    serve_jobs(sys.argv[1], parent=int(sys.argv[2]))
