"""Weights files (safetensors + metadata), published weights, VGG16 ImageNet loading, inference."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from landbench.core.errors import ConfigError, InvalidDataError, LandbenchError
from landbench.inference import Predictor
from landbench.models import (
    Weights,
    WeightsEnum,
    create_model,
    get_published_weights,
    list_published_weights,
    load_weights,
    read_metadata,
    save_weights,
)
from landbench.models.encoders import VGG16Encoder

NORMALIZATION = {
    "bands": ["R", "G", "B", "DEM"],
    "mean": [90.0, 100.0, 80.0, 1200.0],
    "std": [30.0, 25.0, 20.0, 150.0],
}


@pytest.fixture
def weights_file(tmp_path):
    model = create_model("fusionnet-resunet", size="tiny").eval()
    path = save_weights(model, tmp_path / "fusion.safetensors", {"normalization": NORMALIZATION})
    return model, path


def test_metadata_is_readable_without_landbench(weights_file) -> None:
    from safetensors import safe_open

    _, path = weights_file
    with safe_open(str(path), framework="pt") as f:
        raw = f.metadata()
    assert raw["model"] == "fusionnet-resunet"
    assert json.loads(raw["bands"]) == ["R", "G", "B", "DEM"]
    assert json.loads(raw["model_config"])["base_channels"] == 8
    assert json.loads(raw["normalization"]) == NORMALIZATION
    assert read_metadata(path)["normalization"] == NORMALIZATION


def test_weights_of_another_model_are_refused(weights_file) -> None:
    _, path = weights_file
    with pytest.raises(
        InvalidDataError, match=rf"{path.name}.*'fusionnet-resunet', not 'unet-rgb'"
    ):
        load_weights(path, expected_model="unet-rgb")


def test_corrupt_and_truncated_files_are_refused(weights_file, tmp_path) -> None:
    _, path = weights_file
    data = path.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidDataError, match="truncated.safetensors"):
        load_weights(truncated)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a safetensors file" * 10)
    with pytest.raises(InvalidDataError, match="garbage.safetensors"):
        load_weights(garbage)
    pickled = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, pickled)
    with pytest.raises(InvalidDataError, match="model.pt"):
        load_weights(pickled)
    with pytest.raises(LandbenchError, match="missing.safetensors does not exist"):
        load_weights(tmp_path / "missing.safetensors")


def test_foreign_safetensors_and_wrong_tensors_are_refused(tmp_path) -> None:
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(InvalidDataError, match="not landbench weights.*model"):
        load_weights(foreign)
    # Right metadata, tensors of another architecture.
    mismatched = tmp_path / "mismatched.safetensors"
    small = create_model("fusionnet-resunet", size="tiny", base_channels=4)
    path = save_weights(small, mismatched, {})
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    header["__metadata__"]["model_config"] = json.dumps({"size": "tiny"})
    new_header = json.dumps(header).encode()
    new_header += b" " * (-len(new_header) % 8)
    path.write_bytes(len(new_header).to_bytes(8, "little") + new_header + raw[8 + header_len :])
    with pytest.raises(InvalidDataError, match="mismatched.safetensors: tensors do not fit"):
        load_weights(path)


def test_save_refuses_bad_metadata_before_writing(tmp_path) -> None:
    model = create_model("unet-rgb", size="tiny")
    target = tmp_path / "out.safetensors"
    with pytest.raises(ConfigError, match="not JSON-serialisable"):
        save_weights(model, target, {"metrics": {"f1": torch.tensor(0.5)}})
    with pytest.raises(ConfigError, match="written by save_weights"):
        save_weights(model, target, {"model": "other"})
    with pytest.raises(ConfigError, match="create_model"):
        save_weights(torch.nn.Conv2d(4, 1, 1), target, {})
    assert not list(tmp_path.iterdir())
    save_weights(model, target, {"dataset": "a"})
    with pytest.raises(LandbenchError, match="already exists"):
        save_weights(model, target, {"dataset": "b"}, overwrite=False)
    assert read_metadata(target)["dataset"] == "a"


def test_no_weights_are_published_yet() -> None:
    assert list_published_weights() == []
    assert list_published_weights("fusionnet-resunet") == []
    with pytest.raises(ConfigError, match="none yet"):
        get_published_weights("FusionNetResUNetWeights.BIJIE_V1")


def test_published_weights_are_checked_against_their_sha256(
    weights_file, tmp_path, monkeypatch
) -> None:
    from landbench.models import weights as weights_module

    model, path = weights_file
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    class FakeWeights(WeightsEnum):
        GOOD = Weights(
            url=f"https://example.org/{path.name}",
            sha256=digest,
            model="fusionnet-resunet",
            meta={"dataset": "synth"},
        )
        BAD = Weights(
            url=f"https://example.org/{path.name}", sha256="0" * 64, model="fusionnet-resunet"
        )

    monkeypatch.setattr(weights_module, "PUBLISHED_WEIGHTS", {})
    weights_module.register_published_weights(FakeWeights)
    assert list_published_weights("fusionnet-resunet") == [FakeWeights.GOOD, FakeWeights.BAD]
    assert get_published_weights("FakeWeights.GOOD") is FakeWeights.GOOD
    loaded, meta = FakeWeights.GOOD.get_model(path.parent)
    x = torch.randn(1, 4, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    with pytest.raises(InvalidDataError, match="expected 0000"):
        FakeWeights.BAD.get_model(path.parent)
    with pytest.raises(LandbenchError, match="download=True"):
        FakeWeights.GOOD.get_model(tmp_path / "elsewhere")

    # A download (monkeypatched transfer) is checked before anything is written.
    class Response:
        def __init__(self, data: bytes):
            self.data = data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self) -> bytes:
            return self.data

    monkeypatch.setattr("urllib.request.urlopen", lambda url: Response(b"tampered"))
    root = tmp_path / "cache"
    with pytest.raises(InvalidDataError, match="nothing was written"):
        FakeWeights.GOOD.get_model(root, download=True)
    assert not root.exists() or not list(root.iterdir())
    monkeypatch.setattr("urllib.request.urlopen", lambda url: Response(path.read_bytes()))
    loaded, _ = FakeWeights.GOOD.get_model(root, download=True)
    assert (root / path.name).read_bytes() == path.read_bytes()


def test_vgg16_imagenet_weights_absent_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(LandbenchError, match=r"not found at .*vgg16-397923af.pth.*weights_path"):
        create_model("fusionnet-vgg16", pretrained=True)
    with pytest.raises(LandbenchError, match="nowhere.pth"):
        create_model("fusionnet-vgg16", pretrained=True, weights_path=tmp_path / "nowhere.pth")
    with pytest.raises(ConfigError, match="base_channels=64"):
        create_model("fusionnet-vgg16", pretrained=True, base_channels=32, weights_path="x")


def test_vgg16_imagenet_weights_load_from_local_file(tmp_path, monkeypatch) -> None:
    # A file laid out like torchvision's vgg16-397923af.pth (depth 1 keeps it small).
    reference = VGG16Encoder(3, 64, depth=1)
    torch.manual_seed(1)
    state = {
        f"features.{k}": torch.randn_like(v) for k, v in reference.features.state_dict().items()
    }
    state["classifier.0.weight"] = torch.zeros(3, 3)
    path = tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    model = create_model("fusionnet-vgg16", pretrained=True, depth=1)
    assert model.config["base_channels"] == 64
    assert "pretrained" not in model.config  # rebuilding from saved weights needs no VGG file
    for key, value in model.image_encoder.features.state_dict().items():
        assert torch.equal(value, state[f"features.{key}"])
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidDataError, match="broken.pth"):
        create_model("fusionnet-vgg16", pretrained=True, depth=1, weights_path=broken)


def test_predictor_normalises_raw_tiles(weights_file) -> None:
    model, path = weights_file
    predictor = Predictor.from_weights(path)
    raw = torch.rand(3, 4, 29, 37) * torch.tensor([255.0, 255, 255, 2000]).view(1, 4, 1, 1)
    proba = predictor.predict_proba(raw)
    assert proba.shape == (3, 29, 37) and proba.dtype == torch.float32
    assert ((proba >= 0) & (proba <= 1)).all()
    mean = torch.tensor(NORMALIZATION["mean"]).view(1, 4, 1, 1)
    std = torch.tensor(NORMALIZATION["std"]).view(1, 4, 1, 1)
    with torch.no_grad():
        expected = torch.sigmoid(model((raw - mean) / std))[:, 0]
    torch.testing.assert_close(proba, expected)
    single = predictor.predict_proba(raw[1].numpy())
    assert isinstance(single, np.ndarray) and single.shape == (29, 37)
    np.testing.assert_allclose(single, expected[1].numpy(), rtol=1e-5, atol=1e-6)
    assert predictor.metadata["model"] == "fusionnet-resunet"
    with pytest.raises(ConfigError, match=r"\[4, H, W\]"):
        predictor.predict_proba(torch.rand(3, 29, 37))


def test_predictor_needs_normalisation(tmp_path) -> None:
    model = create_model("unet-rgb", size="tiny")
    path = save_weights(model, tmp_path / "w.safetensors", {})
    with pytest.raises(InvalidDataError, match="no 'normalization'"):
        Predictor.from_weights(path)
    with pytest.raises(ConfigError, match="one value per band"):
        Predictor(model, [0.0] * 3, [1.0] * 3)
    with pytest.raises(ConfigError, match="std must be positive"):
        Predictor(model, [0.0] * 4, [1.0, 0.0, 1.0, 1.0])
