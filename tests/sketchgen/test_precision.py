"""Which precision the loss model computes in: asked for by name (the presets' field),
resolved per device, and CUDA's TF32 flags set for a step and restored after."""

import pytest
import torch

from sketchgen import precision
from sketchgen.presets import PRESETS, Preset
from sketchlab.errors import BadInput

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [({"avx512f"}, "fp32"), ({"avx512f", "avx512_bf16"}, "bf16"), ({"amx_bf16"}, "bf16")],
)
def test_bf16_if_native_follows_the_cpus_flags(monkeypatch, flags, expected):
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset(flags))
    assert precision.resolve_precision("bf16-if-native", CPU) == expected
    assert precision.resolve_precision("bf16", CPU) == "bf16"  # asked for outright


def test_unknown_precision_is_bad_input():
    with pytest.raises(BadInput, match="precision must be one of"):
        precision.resolve_precision("fp8", CPU)


def test_cuda_tf32_flags_are_set_for_the_block_and_restored():
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    for enabled in (True, False):
        with precision.cuda_tf32(enabled):
            assert torch.backends.cudnn.allow_tf32 is enabled
            assert torch.backends.cuda.matmul.allow_tf32 is enabled
        assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before


def test_presets_name_their_precision_and_unknown_ones_are_refused():
    assert PRESETS["paper"].precision == "fp32"
    assert PRESETS["fast"].precision == "bf16-if-native"
    fields = PRESETS["paper"].model_dump()
    with pytest.raises(ValueError, match="not a precision"):
        Preset(**{**fields, "precision": "fp8"})
