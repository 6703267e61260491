"""CLIP model loading: open_clip names and tags, local checkpoints, and an honest offline error.

CLIPasso needs two CLIP image towers: RN101 (the loss) and ViT-B/32 (the saliency map at
init). Both come from open_clip (`RN101` + `openai`, `ViT-B-32` + `openai`) through the
normal open_clip / Hugging Face cache, or from a local file (`--weights PATH`,
`--saliency-weights PATH`). When the weights are neither cached nor downloadable, the
error says which file to fetch, from where, where to put it, or which flag to pass.

`pretrained=None` gives a randomly initialised model (tests, benches); the tiny configs in
`sketchgen/model_configs/` (`RN-tiny`, `ViT-tiny-32`) keep tests fast while running the
same code path as RN101 / ViT-B-32.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import open_clip
import torch
from open_clip.constants import (
    HF_SAFE_WEIGHTS_NAME,
    HF_WEIGHTS_NAME,
    OPENAI_DATASET_MEAN,
    OPENAI_DATASET_STD,
)
from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model

from sketchlab.bundled import package_file
from sketchlab.errors import BadInput

CLIP_MEAN: tuple[float, float, float] = tuple(OPENAI_DATASET_MEAN)
CLIP_STD: tuple[float, float, float] = tuple(OPENAI_DATASET_STD)
MODEL_CONFIGS = package_file("sketchgen", "model_configs")
# Files that open_clip's legacy downloader puts here when huggingface_hub is not used.
OPENAI_URL_CACHE = Path("~/.cache/clip").expanduser()
RANDOM_INIT_SEED = 0  # torch seed for `--weights random` models, so every run gets the same one
# Entries of a TorchScript CLIP's state dict that are not weights (scalars, derived buffers).
_TORCHSCRIPT_EXTRAS = ("input_resolution", "context_length", "vocab_size", "attn_mask")


@cache
def _register_local_configs() -> None:
    """Make `RN-tiny` and `ViT-tiny-32` known to open_clip (once per process)."""
    open_clip.add_model_config(MODEL_CONFIGS)


def load_clip(
    name: str,
    pretrained: str | None,
    *,
    weights: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    weights_flag: str = "--weights",
) -> tuple[torch.nn.Module, Callable]:
    """Return an open_clip CLIP model (eval mode, frozen, fp32) and its eval preprocess.

    name: an open_clip architecture (`RN101`, `ViT-B-32`, or the test configs `RN-tiny`,
    `ViT-tiny-32`). pretrained: an open_clip tag (`openai`) or None for random weights.
    weights: a local checkpoint (open_clip state dict, `.safetensors`, or an OpenAI
    `RN101.pt` TorchScript / state-dict file); it replaces the tag's download. Without a
    known tag it is taken to be an OpenAI checkpoint (QuickGELU activations).
    weights_flag: the CLI flag named in the offline error (`--saliency-weights` for the
    saliency model).
    """
    _register_local_configs()
    if name.replace("/", "-") not in open_clip.list_models():
        raise BadInput(
            f"unknown CLIP model {name!r}; use an open_clip name such as RN101 or ViT-B-32 "
            "(see open_clip.list_models())"
        )
    name = name.replace("/", "-")
    tag_cfg = get_pretrained_cfg(name, pretrained) if pretrained else {}
    if pretrained and not tag_cfg and weights is None:
        tags = ", ".join(list_pretrained_tags_by_model(name)) or "none"
        raise BadInput(
            f"unknown pretrained tag {pretrained!r} for CLIP model {name} (known tags: {tags})"
        )

    if weights is not None:
        checkpoint = _existing_file(weights, weights_flag)
    elif pretrained:
        checkpoint = _cached_or_downloaded(name, pretrained, tag_cfg, weights_flag)
    else:
        checkpoint = None

    scripted = checkpoint is not None and _is_torchscript(checkpoint)
    # OpenAI's CLIPs use QuickGELU (it matters for ViT-B/32's saliency). A local file with no
    # tag is taken to be OpenAI's, the weights CLIPasso uses.
    openai_like = scripted or (weights is not None and not tag_cfg)
    quick_gelu = bool(tag_cfg.get("quick_gelu", openai_like))
    # open_clip warns "initialized randomly" when no checkpoint is given: here that is asked for
    # (random init, or TorchScript weights loaded right after).
    logging.disable(logging.WARNING if checkpoint is None or scripted else logging.NOTSET)
    try:
        if scripted:
            model, _, preprocess = open_clip.create_model_and_transforms(
                name, force_quick_gelu=quick_gelu
            )
            _load_torchscript_weights(model, checkpoint, name)
        else:
            model, _, preprocess = open_clip.create_model_and_transforms(
                name,
                pretrained=str(checkpoint) if checkpoint else None,
                force_quick_gelu=quick_gelu,
            )
    except BadInput:
        raise
    except Exception as error:  # a user file can fail to load in many ways
        if checkpoint is None:
            raise
        raise BadInput(
            f"the weights file {checkpoint} could not be loaded as CLIP {name} "
            f"({type(error).__name__}: {_first_line(error)}); "
            f"pass a checkpoint of that architecture with {weights_flag} PATH"
        ) from error
    finally:
        logging.disable(logging.NOTSET)
    model.checkpoint_path = str(checkpoint) if checkpoint else None
    model.eval().requires_grad_(False)
    return model.to(device), preprocess


def checkpoint_file(
    name: str, pretrained: str | None, *, weights: str | os.PathLike | None = None
) -> Path | None:
    """The weights file `load_clip` would read, if it is on disk (never downloads)."""
    if weights is not None:
        return Path(weights) if Path(weights).is_file() else None
    if not pretrained:
        return None
    return _cached_checkpoint(get_pretrained_cfg(name.replace("/", "-"), pretrained))


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file, read in 1 MiB blocks (checkpoints are ~300 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_sha256(
    name: str, pretrained: str | None, *, weights: str | os.PathLike | None = None
) -> str | None:
    """sha256 of the weights file for run.json, or None for random init / not on disk."""
    path = checkpoint_file(name, pretrained, weights=weights)
    return file_sha256(path) if path else None


def load_tokenizer(name: str) -> Callable:
    """The open_clip tokenizer of model `name` (texts -> token tensor), for zero-shot prompts."""
    _register_local_configs()
    return open_clip.get_tokenizer(name.replace("/", "-"))


def published_sha256(name: str, pretrained: str) -> str | None:
    """The sha256 a tag's download URL carries (OpenAI publishes its checkpoints under it), so
    a local file can be recognised as those weights whatever it is called; None without one."""
    url = get_pretrained_cfg(name.replace("/", "-"), pretrained).get("url", "")
    digest = url.rstrip("/").split("/")[-2] if url.count("/") > 3 else ""
    return digest if len(digest) == 64 else None


def _existing_file(path: str | os.PathLike, flag: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise BadInput(f"the CLIP weights file {path} given with {flag} does not exist")
    return path


def _hf_location(tag_cfg: dict) -> tuple[str, str] | None:
    """(repo id, file name) of a tag's Hugging Face download, as open_clip resolves it."""
    hub = tag_cfg.get("hf_hub", "")
    if not hub:
        return None
    repo, filename = os.path.split(hub)
    return repo, filename or HF_WEIGHTS_NAME


def _cached_checkpoint(tag_cfg: dict) -> Path | None:
    """A tag's weights already in the Hugging Face cache or open_clip's URL cache."""
    from huggingface_hub import try_to_load_from_cache

    location = _hf_location(tag_cfg)
    if location:
        repo, filename = location
        candidates = [HF_SAFE_WEIGHTS_NAME, filename] if filename == HF_WEIGHTS_NAME else [filename]
        for candidate in candidates:
            found = try_to_load_from_cache(repo, candidate)
            if isinstance(found, str):
                return Path(found)
    url = tag_cfg.get("url", "")
    if url and (OPENAI_URL_CACHE / os.path.basename(url)).is_file():
        return OPENAI_URL_CACHE / os.path.basename(url)
    return None


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether a download could work at all: offline mode off and huggingface.co answering."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def _cached_or_downloaded(name: str, pretrained: str, tag_cfg: dict, flag: str) -> Path:
    cached = _cached_checkpoint(tag_cfg)
    if cached:
        return cached
    if _hub_reachable():
        try:
            return Path(open_clip.download_pretrained(tag_cfg))
        except Exception as error:  # any download failure gets the same advice
            raise BadInput(
                missing_weights_message(name, pretrained, flag, reason=_first_line(error))
            ) from error
    raise BadInput(missing_weights_message(name, pretrained, flag, reason="offline"))


def missing_weights_message(name: str, pretrained: str, flag: str, *, reason: str) -> str:
    """One sentence: which file to download, from where, where to put it, or which flag to pass."""
    from huggingface_hub import constants

    tag_cfg = get_pretrained_cfg(name, pretrained)
    location = _hf_location(tag_cfg)
    sources = []
    if location:
        repo, filename = location
        sources.append(f"https://huggingface.co/{repo}/resolve/main/{filename}")
    if tag_cfg.get("url"):
        sources.append(tag_cfg["url"])
    download = sources[0] + (f" (or the OpenAI original {sources[1]})" if len(sources) > 1 else "")
    put = (
        f"or put it in the Hugging Face cache {constants.HF_HUB_CACHE} with `hf download "
        f"{location[0]} {location[1]}`"
        if location
        else f"or put it in {OPENAI_URL_CACHE}"
    )
    return (
        f"CLIP weights {name}/{pretrained} are not cached and cannot be downloaded ({reason}): "
        f"download {download} and pass the file with {flag} PATH, {put}"
    )


def _is_torchscript(path: Path) -> bool:
    """OpenAI's original `RN101.pt` is a TorchScript archive (it has a `constants.pkl`)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(entry.endswith("constants.pkl") for entry in archive.namelist())


def _load_torchscript_weights(model: torch.nn.Module, path: Path, name: str) -> None:
    state = torch.jit.load(str(path), map_location="cpu").state_dict()
    for key in _TORCHSCRIPT_EXTRAS:
        state.pop(key, None)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise BadInput(
            f"the OpenAI checkpoint {path} does not fit CLIP {name} ({_first_line(error)})"
        ) from error


def _first_line(error: BaseException) -> str:
    """The error's text on one line, cut to 300 characters (messages stay one sentence)."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text[:300] or type(error).__name__


RANDOM_WEIGHTS = "random"
"""`--weights random`: a randomly initialised model, the same one every time (tests, benches)."""


def load_frozen_clip(
    name: str,
    pretrained: str | None,
    weights: str | None,
    *,
    device: str | torch.device = "cpu",
    weights_flag: str = "--weights",
) -> torch.nn.Module:
    """A CLIP model for a run, in eval mode without gradients.

    weights: a local checkpoint, RANDOM_WEIGHTS (initialised from RANDOM_INIT_SEED, leaving
    the caller's torch random state alone), or None for the `pretrained` tag's weights.
    """
    if weights == RANDOM_WEIGHTS:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            model, _ = load_clip(name, None, device=device)
    else:
        model, _ = load_clip(
            name,
            None if weights else pretrained,
            weights=weights,
            device=device,
            weights_flag=weights_flag,
        )
    return model.eval().requires_grad_(False)


def model_record(
    name: str, pretrained: str | None, weights: str | None, model: torch.nn.Module
) -> dict:
    """Which weights a run used, for run.json: the checkpoint file's sha256, or for
    RANDOM_WEIGHTS a sha256 of the tensors themselves."""
    if weights != RANDOM_WEIGHTS:
        return {
            "name": name,
            "pretrained": None if weights else pretrained,
            "weights": weights,
            "checkpoint_sha256": checkpoint_sha256(
                name, None if weights else pretrained, weights=weights
            ),
        }
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return {"name": name, "pretrained": "random-init", "state_dict_sha256": digest.hexdigest()}
