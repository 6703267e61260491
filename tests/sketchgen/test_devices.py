"""`--device` means the same everywhere: one parser, one sentence for each mistake."""

import pytest
import torch

from sketchgen.devices import parse_device
from sketchlab.errors import BadInput


def test_auto_and_cpu_name_devices_that_exist_here():
    assert parse_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert parse_device("auto").type == expected


@pytest.mark.parametrize("spec", ["tpu", "cuda:x", "CPU", "", "cuda:-1"])
def test_a_spec_that_is_not_a_device_is_refused_naming_the_choices(spec):
    with pytest.raises(BadInput, match="auto, cpu, cuda or cuda:N"):
        parse_device(spec)


def test_cuda_without_a_gpu_says_to_use_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BadInput, match="no CUDA GPU is visible; use --device cpu"):
        parse_device("cuda:0")


def test_a_gpu_index_past_the_last_one_says_how_many_there_are(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(BadInput, match="has 2 CUDA device"):
        parse_device("cuda:2")
    assert parse_device("cuda:1") == torch.device("cuda:1")
