"""The train section's ``precision`` and ``channels_last`` options.

Both are opt-in: the default must train exactly as before, and each option, when asked for, must
really run (bf16 convolutions, channels-last inputs) and learn about as well as fp32.
"""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import pytest
import torch
import torch.nn.functional as F
import yaml

from unlearning import training
from unlearning.data.digits import prepare_digits
from unlearning.data.imageset import ImageSet
from unlearning.data.prepared import load_prepared
from unlearning.errors import UserError
from unlearning.models import build_model
from unlearning.training import TrainConfig, lr_factor, train_classifier

pytestmark = pytest.mark.usefixtures("one_thread")

CPU = torch.device("cpu")
ACCURACY_TOLERANCE = 0.03  # bf16 / channels-last within 3 points of fp32 on held-out digits
SCHEMA = Path(__file__).parents[1] / "config" / "schema" / "config.schema.yaml"


def _toy(n=96, seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    images = torch.rand(n, 1, 8, 8, generator=gen) * 60
    for cls in range(3):
        images[labels == cls, :, cls * 2 : cls * 2 + 3, :] += 180
    return ImageSet(images.clamp(0, 255).to(torch.uint8), labels)


def _toy_model():
    torch.manual_seed(0)
    return build_model("allcnn", 3, 1, 8, [0.3], [0.3], width_factor=0.1)


def _reference_train(model, data, config, generator):
    """The training loop as it was before the precision options, kept here to compare against."""
    model.to(CPU).train()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    total = config.epochs * math.ceil(len(data) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(config.schedule, step, total)
    )
    for _ in range(config.epochs):
        for x, y in data.batches(
            config.batch_size, device=CPU, shuffle=True, generator=generator, augment=config.augment
        ):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_default_trains_bit_for_bit_as_before():
    base = {"epochs": 2, "batch_size": 16, "lr": 0.05, "augment": "crop_flip"}
    reference = _toy_model()
    _reference_train(reference, _toy(), TrainConfig(**base), torch.Generator().manual_seed(3))
    expected = _state(reference)
    for extra in ({}, {"precision": "fp32", "channels_last": False}):
        model = _toy_model()
        train_classifier(
            model,
            _toy(),
            TrainConfig(**base, **extra),
            device=CPU,
            generator=torch.Generator().manual_seed(3),
            progress=False,
        )
        got = _state(model)
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert torch.equal(got[key], value), f"{key} differs with {extra or 'the defaults'}"


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    prepare_digits(folder, image_size=16, val_fraction=0.1, test_fraction=0.2, split_seed=0)
    data = load_prepared(folder)
    return data.part("train"), data.part("test")


def _digits_run(digits, **options):
    """Train a narrow AllCNN on the digits; return (test accuracy, model, what a conv saw).

    The second convolution is watched: its input has many channels, so channels-last and
    contiguous layouts differ (a one-channel image is both).
    """
    train, test = digits
    torch.manual_seed(0)
    model = build_model("allcnn", 10, 1, 16, [0.5], [0.25], width_factor=0.25)
    seen = []
    conv = model.features[1][0]
    hook = conv.register_forward_hook(
        lambda _m, args, out: seen.append(
            (args[0].is_contiguous(memory_format=torch.channels_last), out.dtype)
        )
    )
    config = TrainConfig(epochs=3, batch_size=64, lr=0.05, **options)
    train_classifier(
        model, train, config, device=CPU, generator=torch.Generator().manual_seed(0), progress=False
    )
    hook.remove()
    model.eval()
    with torch.inference_mode():
        x, y = next(test.batches(len(test)))
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    return accuracy, model, seen


@pytest.fixture(scope="module")
def fp32_digits(digits):
    return _digits_run(digits)


@pytest.mark.parametrize(
    "options",
    [{"precision": "bf16"}, {"channels_last": True}, {"precision": "bf16", "channels_last": True}],
    ids=["bf16", "channels_last", "bf16+channels_last"],
)
def test_options_are_honoured_and_learn_as_well_as_fp32(digits, fp32_digits, options):
    fp32_accuracy, fp32_model, fp32_seen = fp32_digits
    assert fp32_accuracy > 0.9  # otherwise the comparison says nothing
    assert set(fp32_seen) == {(False, torch.float32)}
    accuracy, model, seen = _digits_run(digits, **options)
    channels_last = options.get("channels_last", False)
    dtype = torch.bfloat16 if options.get("precision") == "bf16" else torch.float32
    assert set(seen) == {(channels_last, dtype)}
    assert abs(accuracy - fp32_accuracy) <= ACCURACY_TOLERANCE
    # weights and buffers come back fp32 and contiguous, so checkpoints look as usual
    for value in model.state_dict().values():
        assert value.dtype in (torch.float32, torch.int64)
        assert value.is_contiguous()
    if dtype == torch.bfloat16:
        assert not torch.equal(model.head.weight, fp32_model.head.weight)


def test_bad_values_are_refused_naming_the_key():
    with pytest.raises(UserError, match=r"datasets\.<dataset>\.train\.precision 'fp16'"):
        TrainConfig(precision="fp16")
    with pytest.raises(UserError, match=r"datasets\.<dataset>\.train\.channels_last"):
        TrainConfig(channels_last="yes")


def test_bf16_is_refused_where_autocast_lacks_it(monkeypatch):
    assert training.bf16_autocast_supported(CPU)
    assert not training.bf16_autocast_supported(torch.device("meta"))
    monkeypatch.setattr(training, "bf16_autocast_supported", lambda device: False)
    model = _toy_model()
    before = _state(model)
    with pytest.raises(UserError, match="precision bf16 needs bfloat16 autocast"):
        train_classifier(
            model,
            _toy(),
            TrainConfig(epochs=1, precision="bf16"),
            device=CPU,
            generator=torch.Generator().manual_seed(0),
            progress=False,
        )
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_schema_accepts_the_options_without_filling_defaults():
    schema = yaml.safe_load(SCHEMA.read_text())
    train = schema["definitions"]["dataset"]["properties"]["train"]
    validator = jsonschema.Draft202012Validator(train)
    assert validator.is_valid({"precision": "bf16", "channels_last": True})
    assert not validator.is_valid({"precision": "fp16"})
    assert not validator.is_valid({"channels_last": "yes"})
    # a default filled in by Snakemake's validate would change every train section's params
    assert all("default" not in spec for spec in train["properties"].values())
