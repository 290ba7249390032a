"""Process start and exit of a pipeline job, trimmed to what a job uses.

At paper scale thousands of short jobs each pay these costs, and two of them are not work:

* torch's optimisers import ``torch._dynamo`` and ``torch._inductor`` (1.5 to 2 s) on their first
  call, only to mark functions as not to be compiled and to place graph breaks around ``step``.
  Jobs never compile, so before any optimiser is built each such function is marked as its own
  disabled form and each ``step`` runs under the same grad mode without the graph breaks: the
  arithmetic is the same function either way (a test compares weights bit for bit).
* Tearing down the interpreter after torch has run (freeing every module and tensor) takes about a
  second; a job whose outputs are written and closed can end without it.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

#: The attribute ``torch._disable_dynamo`` caches its disabled form under.
_CACHE = "__dynamo_disable"


def _mark_not_compiled(wrapper: object) -> None:
    original = getattr(wrapper, "__wrapped__", None)
    if callable(original) and not hasattr(original, _CACHE):
        setattr(original, _CACHE, original)


def _eager_step(step: Callable[..., Any]) -> Callable[..., Any]:
    """``step`` under the grad mode torch's own wrapper sets, without its graph breaks."""

    @functools.wraps(step)
    def eager_step(self: Any, *args: Any, **kwargs: Any) -> Any:
        import torch

        previous = torch.is_grad_enabled()
        try:
            torch.set_grad_enabled(self.defaults["differentiable"])
            return step(self, *args, **kwargs)
        finally:
            torch.set_grad_enabled(previous)

    return eager_step


def _is_graph_break_wrapper(step: object) -> bool:
    code = getattr(step, "__code__", None)
    return (
        hasattr(step, "__wrapped__")
        and code is not None
        and code.co_name == "_use_grad"
        and "_dynamo" in code.co_names
    )


def skip_dynamo_import(torch: ModuleType) -> int:
    """Prepare torch's optimisers so that using them imports no compiler; return how many
    functions were changed. Does nothing once ``torch._dynamo`` is imported (something may
    compile then), and leaves alone any function whose wrapper is not the one expected."""
    if "torch._dynamo" in sys.modules:
        return 0
    import torch.optim  # noqa: F401 (the submodules below)

    marked = 0
    for optimizer in vars(torch.optim).values():
        if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
            continue
        step = vars(optimizer).get("step")
        if _is_graph_break_wrapper(step):
            optimizer.step = _eager_step(step.__wrapped__)
            marked += 1
    for name in dir(torch.optim.Optimizer):
        attribute = getattr(torch.optim.Optimizer, name, None)
        if hasattr(attribute, "__wrapped__"):
            _mark_not_compiled(attribute)
            marked += 1
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("torch.optim."):
            continue
        for attribute in list(vars(module).values()):
            if callable(attribute) and hasattr(attribute, "__wrapped__"):
                _mark_not_compiled(attribute)
                marked += 1
    return marked


#: Called with the exit code just before :func:`end_process` ends the process (the warm worker's
#: fork reports its result to the job's process here).
before_exit: list[Callable[[int], None]] = []


def end_process(code: int = 0) -> None:
    """Flush every log and stream, then end the process without tearing the interpreter down."""
    logging.shutdown()
    for hook in before_exit:
        hook(code)
    flush_streams()
    os._exit(code)


def flush_streams() -> None:
    """Flush stdout and stderr, whatever state they are in (closed, or on a broken pipe)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
