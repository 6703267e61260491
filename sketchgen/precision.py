"""The numeric precisions the CLIPasso loss can run its ResNet in, and which one a device gets.

"fp32" is IEEE float32 on every device: CUDA's TF32 convolutions are switched off, so a GPU
computes what the CPU does (the paper preset). "tf32" lets CUDA use TF32 tensor cores (10-bit
mantissa; fp32 elsewhere). "bf16" and "fp16" run the ResNet under autocast (the reference
code itself runs CLIP in fp16 on a GPU). "bf16-if-native" (the fast preset) is bf16 where the
device has bfloat16 arithmetic in hardware and fp32 elsewhere, where emulated bf16 is slower.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache
from pathlib import Path

import torch

from sketchlab.errors import BadInput

# the autocast dtype of each precision (None: no autocast)
AUTOCAST_DTYPES = {"fp32": None, "tf32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
BF16_IF_NATIVE = "bf16-if-native"
PRECISIONS = (*AUTOCAST_DTYPES, BF16_IF_NATIVE)


def native_bf16(device: torch.device) -> bool:
    """Whether `device` has bfloat16 arithmetic in hardware: a CUDA GPU of compute capability
    8.0 or newer, or a CPU with AVX512-BF16 or AMX. Elsewhere bf16 is emulated and slower than
    fp32 (RN101 forward + backward 2.6x slower on the project's AVX-512 build machine)."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device)[0] >= 8
    return device.type == "cpu" and bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


@cache
def _cpu_flags() -> frozenset[str]:
    """The CPU feature flags the Linux kernel reports (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return frozenset(flags.partition(":")[2].split())


def resolve_precision(precision: str, device: torch.device) -> str:
    """A precision as asked for (`PRECISIONS`) -> the one used on `device`."""
    if precision not in PRECISIONS:
        raise BadInput(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == BF16_IF_NATIVE:
        return "bf16" if native_bf16(device) else "fp32"
    return precision


@contextmanager
def cuda_tf32(enabled: bool):
    """CUDA's TF32 convolutions and matrix products on or off for the block (the backward
    pass reads these flags too, so the whole step must run inside). No effect on CPU."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
