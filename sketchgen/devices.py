"""The one parser of `--device` for the whole project (generate, loss, score, benches)."""

import torch

from sketchlab.errors import BadInput


def parse_device(spec: str) -> torch.device:
    """`auto`, `cpu`, `cuda` or `cuda:N` -> a device that exists here (BadInput otherwise).

    `auto` is the first CUDA GPU when torch sees one, else the CPU.
    """
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        index = spec.partition(":")[2]
        if index and not index.isdigit():
            raise BadInput(f"--device {spec!r} is not valid; use auto, cpu, cuda or cuda:N.")
        if not torch.cuda.is_available():
            raise BadInput(
                f"--device {spec} was asked for but no CUDA GPU is visible; use --device cpu."
            )
        if index and int(index) >= torch.cuda.device_count():
            raise BadInput(
                f"--device {spec} does not exist; this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
        return torch.device(spec)
    raise BadInput(f"--device {spec!r} is not valid; use auto, cpu, cuda or cuda:N.")
