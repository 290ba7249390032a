"""A job's start and exit: optimisers used without importing torch's compiler give the same
weights bit for bit, and a job that ends early still leaves its output flushed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

TRAIN = r"""
import json, sys
sys.path.insert(0, {src!r})
import torch
from unlearning.startup import skip_dynamo_import
marked = skip_dynamo_import(torch) if {patch} else 0
from unlearning.data.imageset import ImageSet
from unlearning.training import TrainConfig, train_classifier

torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
    torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3),
)
images = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8)
data = ImageSet(images, torch.arange(40) % 3)
config = TrainConfig(epochs=2, batch_size=8, lr=0.05, schedule="cosine", augment="crop_flip")
train_classifier(model, data, config, device=torch.device("cpu"),
                 generator=torch.Generator().manual_seed(0), progress=False)
adam = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
for x, y in data.batches(8):
    loss = torch.nn.functional.cross_entropy(model(x), y)
    adam.zero_grad()
    loss.backward()
    adam.step()
adam.load_state_dict(adam.state_dict())
weights = [p.detach().flatten().tolist() for p in model.state_dict().values()]
print(json.dumps({{"marked": marked, "dynamo": "torch._dynamo" in sys.modules,
                   "weights": weights}}))
"""


def _train(patch: bool) -> dict:
    code = TRAIN.format(src=SRC, patch=patch)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_optimisers_without_the_compiler_give_identical_weights():
    patched, plain = _train(True), _train(False)
    assert patched["marked"] > 0
    assert not patched["dynamo"], "an optimiser call still imported torch._dynamo"
    assert plain["dynamo"], "torch no longer imports its compiler here: the patch can go"
    assert patched["weights"] == plain["weights"]


def test_nothing_is_changed_once_the_compiler_is_loaded():
    code = (
        f"import sys; sys.path.insert(0, {SRC!r}); import torch, torch._dynamo; "
        "from unlearning.startup import skip_dynamo_import; print(skip_dynamo_import(torch))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_ending_early_flushes_logs_and_streams(tmp_path):
    log_file = tmp_path / "job.log"
    code = (
        f"import logging, sys; sys.path.insert(0, {SRC!r}); "
        f"logging.basicConfig(filename={str(log_file)!r}, level=logging.INFO); "
        "logging.getLogger('x').info('last line'); print('to stdout', end=''); "
        "sys.stderr.write('to stderr'); "
        "from unlearning.startup import end_process; end_process(0); print('never')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout == "to stdout"
    assert out.stderr == "to stderr"
    assert "last line" in log_file.read_text()
