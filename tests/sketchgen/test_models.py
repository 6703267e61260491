"""CLIP loading: offline error, unknown names, local checkpoints (state dict and TorchScript)."""

import hashlib

import pytest
import torch
from huggingface_hub import constants

from sketchgen import models
from sketchgen.models import checkpoint_sha256, load_clip
from sketchlab.errors import BadInput


@pytest.fixture
def empty_offline_cache(tmp_path, monkeypatch):
    """No cached weights and no network, wherever the tests run."""
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(models, "OPENAI_URL_CACHE", tmp_path / "clip")
    return tmp_path


def test_offline_without_weights_says_what_to_download_where_and_which_flag(empty_offline_cache):
    with pytest.raises(BadInput) as error:
        load_clip("RN101", "openai")
    message = str(error.value)
    assert "RN101/openai" in message
    assert "https://huggingface.co/timm/resnet101_clip.openai/resolve/main/" in message
    assert "RN101.pt" in message  # the OpenAI original, which --weights also accepts
    assert "--weights PATH" in message
    assert str(empty_offline_cache / "hub") in message
    assert "\n" not in message

    with pytest.raises(BadInput, match="--saliency-weights PATH"):
        load_clip("ViT-B-32", "openai", weights_flag="--saliency-weights")


def test_unknown_model_tag_or_weights_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="unknown CLIP model 'RN999'"):
        load_clip("RN999", "openai")
    with pytest.raises(BadInput, match="unknown pretrained tag 'nope'"):
        load_clip("RN101", "nope")
    with pytest.raises(BadInput, match="missing.pt given with --weights does not exist"):
        load_clip("RN-tiny", None, weights=tmp_path / "missing.pt")
    (tmp_path / "garbage.pt").write_text("hello")
    with pytest.raises(BadInput, match="garbage.pt could not be loaded as CLIP RN-tiny"):
        load_clip("RN-tiny", None, weights=tmp_path / "garbage.pt")


def test_local_state_dict_and_torchscript_checkpoints_load_the_same_weights(tmp_path):
    torch.manual_seed(1)
    original, _ = load_clip("RN-tiny", None)
    state_path, script_path = tmp_path / "tiny.pt", tmp_path / "tiny_jit.pt"
    torch.save(original.state_dict(), state_path)
    torch.jit.script(original).save(str(script_path))
    image = torch.rand(1, 3, 224, 224)
    expected = original.encode_image(image)

    for path in (state_path, script_path):
        loaded, _ = load_clip("RN-tiny", "openai", weights=path)
        assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
        torch.testing.assert_close(loaded.encode_image(image), expected)
        assert (
            checkpoint_sha256("RN-tiny", None, weights=path)
            == hashlib.sha256(path.read_bytes()).hexdigest()
        )
    assert checkpoint_sha256("RN-tiny", None) is None


def test_open_clip_resnet_stem_computes_the_references_old_stem():
    """The reference's CLIP stem shares one `relu`; open_clip names them act1/act2/act3."""
    torch.manual_seed(2)
    visual = load_clip("RN-tiny", None)[0].visual
    x = torch.rand(1, 3, 224, 224)
    relu = torch.nn.functional.relu
    expected = relu(visual.bn1(visual.conv1(x)))
    expected = relu(visual.bn2(visual.conv2(expected)))
    expected = visual.avgpool(relu(visual.bn3(visual.conv3(expected))))
    assert torch.equal(visual.stem(x), expected)
    assert all(isinstance(act, torch.nn.ReLU) for act in (visual.act1, visual.act2, visual.act3))
