"""The model zoo: registry, contract of every model, band sets, fusion network specifics, errors."""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from landbench.core.errors import ConfigError, LandbenchError
from landbench.models import create_model, list_models, model_info
from landbench.models.base import DEFAULT_BANDS, ZooModel

ALL_MODELS = (
    "all-background",
    "deeplabv3plus-rgbdem",
    "fusionnet-resunet",
    "fusionnet-unet",
    "fusionnet-vgg16",
    "hgb-pixel",
    "resunet-rgbdem",
    "slope-threshold",
    "unet-rgb",
    "unet-rgbdem",
)
FUSION = ("fusionnet-resunet", "fusionnet-unet", "fusionnet-vgg16")
#: Landslide4Sense's band set: twelve Sentinel-2 bands (B4, B3, B2 are R, G, B), slope, DEM.
L4S_BANDS = (*(f"B{i}" for i in range(1, 13)), "slope", "DEM")


def _batch(
    n: int = 2, h: int = 33, w: int = 45, seed: int = 0, bands: tuple[str, ...] = DEFAULT_BANDS
) -> dict[str, torch.Tensor]:
    """A fake normalised batch whose landslides sit on the steep half of a ramp DEM."""
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(n, len(bands), h, w, generator=g)
    cols = torch.arange(w, dtype=torch.float32)
    ramp = torch.where(cols < w // 2, 0.01 * cols, 0.01 * (w // 2) + 0.3 * (cols - w // 2))
    image[:, bands.index("DEM")] = ramp.expand(h, w) + 0.001 * torch.randn(n, h, w, generator=g)
    mask = torch.zeros(n, h, w, dtype=torch.long)
    mask[..., w // 2 + 2 : -2] = 1
    return {"image": image, "mask": mask}


def tiny(name: str, fitted: bool = True, bands: tuple[str, ...] = DEFAULT_BANDS) -> ZooModel:
    """The smallest config of ``name``; fitted baselines are fitted on a fake batch."""
    info = model_info(name)
    options = {"size": "tiny"} if "size" in info.kwargs else {}
    if name == "hgb-pixel":
        options = {"max_iter": 5, "max_leaf_nodes": 7}
    model = create_model(name, bands=bands, **options)
    if fitted and not model.trainable:
        model.fit([_batch(bands=bands)])
    return model


def test_list_models_holds_the_zoo() -> None:
    assert list_models() == sorted(ALL_MODELS)
    assert list_models("fusionnet-*") == sorted(FUSION)


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match="Unknown model 'fusionnet'.*fusionnet-resunet"):
        create_model("fusionnet")


def test_unknown_option_lists_valid_options() -> None:
    with pytest.raises(ConfigError, match="no option.*'widht'.*Valid options.*base_channels"):
        create_model("fusionnet-resunet", widht=3)
    with pytest.raises(ConfigError, match="Unknown size 'huge'"):
        create_model("unet-rgb", size="huge")


@pytest.mark.parametrize("name", ALL_MODELS)
def test_contract_on_odd_size(name: str) -> None:
    model = tiny(name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 4, 97, 131))
    assert isinstance(out, torch.Tensor)
    assert out.shape == (1, 1, 97, 131)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert model.name == name
    info = model_info(name)
    assert model.bands_used == (model.bands if info.bands_used is None else info.bands_used)
    assert model.trainable == info.trainable
    # config is JSON and rebuilds the same architecture
    config = json.loads(json.dumps(model.config))
    rebuilt = create_model(name, **config)
    assert rebuilt.config == model.config
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }


@pytest.mark.parametrize("name", [n for n in ALL_MODELS if model_info(n).trainable])
def test_gradients_reach_every_parameter(name: str) -> None:
    model = tiny(name).train()
    batch = _batch(h=21, w=19)
    logits = model(batch["image"])
    weights = torch.randn_like(logits)  # a generic loss: every output pixel matters
    (logits * weights).sum().backward()
    missing = [k for k, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, f"no gradient reaches {missing}"


@pytest.mark.parametrize("name", ALL_MODELS)
def test_weights_round_trip(name: str, tmp_path) -> None:
    from landbench.models import load_weights, save_weights

    model = tiny(name)
    if model.trainable:  # move BN statistics away from their initial values
        model.train()
        model(_batch(h=16, w=16, seed=1)["image"])
    model.eval()
    x = torch.randn(1, 4, 21, 27)
    metadata = {
        "dataset": "synth",
        "split_version": "v1",
        "manifest_sha256": "0" * 64,
        "metrics": {"f1": 0.5, "iou": 1 / 3},
        "normalization": {"bands": ["R", "G", "B", "DEM"], "mean": [1.0] * 4, "std": [2.0] * 4},
        "training_config": {"epochs": 1, "mixup": None},
    }
    path = save_weights(model, tmp_path / "w.safetensors", metadata)
    loaded, meta = load_weights(path, expected_model=name)
    assert type(loaded) is type(model) and loaded.name == name
    assert meta == {
        **metadata,
        "model": name,
        "model_config": model.config,
        "landbench_version": meta["landbench_version"],
        "bands": ["R", "G", "B", "DEM"],
    }
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]  # no temp files left


@pytest.mark.parametrize("name", ALL_MODELS)
def test_bad_input_shapes(name: str) -> None:
    model = tiny(name).eval()
    with pytest.raises(ConfigError, match=r"\[N, 4, H, W\].*\[2, 3, 16, 16\]"):
        model(torch.randn(2, 3, 16, 16))
    with pytest.raises(ConfigError, match="4, H, W"):
        model(torch.randn(4, 16, 16))
    with pytest.raises(ConfigError, match="floating-point"):
        model(torch.zeros(1, 4, 16, 16, dtype=torch.long))
    with pytest.raises(LandbenchError):
        model(torch.randn(2, 5, 16, 16))


@pytest.mark.parametrize("name", ALL_MODELS)
def test_encoders_are_submodules(name: str) -> None:
    model = tiny(name)
    submodules = {id(m) for m in model.modules()}
    encoders = model.encoders()
    assert all(id(e) in submodules for e in encoders)
    assert bool(encoders) == (model.trainable)


def test_rgb_only_model_ignores_the_dem() -> None:
    model = tiny("unet-rgb").eval()
    x = torch.randn(1, 4, 40, 40)
    y = x.clone()
    y[:, 3] = torch.randn(40, 40) * 10
    with torch.no_grad():
        assert torch.equal(model(x), model(y))
    assert model.bands_used == ("R", "G", "B")
    assert model.net.encoder.conv1.in_channels == 3


@pytest.mark.parametrize("name", FUSION)
def test_fusion_output_depends_on_rgb_and_dem(name: str) -> None:
    model = tiny(name).eval()
    x = torch.randn(1, 4, 48, 40)
    dem_only, rgb_only = x.clone(), x.clone()
    dem_only[:, 3] += torch.randn(48, 40)
    rgb_only[:, :3] += torch.randn(3, 48, 40)
    with torch.no_grad():
        base = model(x)
        assert not torch.allclose(model(dem_only), base)
        assert not torch.allclose(model(rgb_only), base)


@pytest.mark.parametrize("name", FUSION)
def test_fusion_encoders_are_separate(name: str) -> None:
    model = tiny(name)
    rgb = {p.data_ptr() for p in model.image_encoder.parameters()}
    dem = {p.data_ptr() for p in model.dem_encoder.parameters()}
    assert rgb and dem and not rgb & dem
    assert model.encoders() == [model.image_encoder, model.dem_encoder]
    # The DEM encoder sees one channel, the image encoder three.
    first_rgb = next(m for m in model.image_encoder.modules() if isinstance(m, torch.nn.Conv2d))
    first_dem = next(m for m in model.dem_encoder.modules() if isinstance(m, torch.nn.Conv2d))
    assert (first_rgb.in_channels, first_dem.in_channels) == (3, 1)
    # Perturbing the RGB encoder's weights leaves the DEM encoder's features unchanged.
    x = torch.randn(1, 1, 32, 32)
    model.eval()
    with torch.no_grad():
        before = model.dem_encoder(x)
        for p in model.image_encoder.parameters():
            p.add_(1.0)
        after = model.dem_encoder(x)
    assert all(torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("name", FUSION)
@pytest.mark.parametrize("size", [(97, 131), (32, 32), (5, 3)])
def test_attention_maps_have_documented_shapes(name: str, size: tuple[int, int]) -> None:
    model = tiny(name).eval()
    depth = model.config["depth"]
    h, w = size
    with torch.no_grad():
        out = model(torch.randn(2, 4, h, w), return_attention=True)
    assert set(out) >= {"logits", "attention", "features"}
    assert out["logits"].shape == (2, 1, h, w)
    shapes = [tuple(a.shape) for a in out["attention"]]
    expected = [(2, 1, math.ceil(h / 2**j), math.ceil(w / 2**j)) for j in reversed(range(depth))]
    assert shapes == expected
    assert all(((a > 0) & (a < 1)).all() for a in out["attention"])
    assert out["features"].shape == (2, model.config["base_channels"], h, w)
    assert out["latent"].shape[-2:] == (math.ceil(h / 2**depth), math.ceil(w / 2**depth))
    with torch.no_grad():
        assert torch.equal(model(torch.zeros(1, 4, h, w)), model(torch.zeros(1, 4, h, w)))
        only_features = model(torch.randn(1, 4, h, w), return_features=True)
    assert isinstance(only_features, dict) and "features" in only_features


def test_fusion_presets_and_overrides() -> None:
    small = create_model("fusionnet-resunet", size="small")
    assert small.config == {
        "bands": ["R", "G", "B", "DEM"],
        "size": "small",
        "base_channels": 12,
        "depth": 4,
        "attention": True,
    }
    custom = create_model("fusionnet-unet", size="tiny", base_channels=4, depth=2)
    assert custom.config["base_channels"] == 4 and custom.multiple == 4
    assert (
        create_model("fusionnet-resunet", size="tiny", attention=False)(
            torch.randn(1, 4, 20, 20), return_attention=True
        )["attention"]
        == []
    )
    with pytest.raises(ConfigError, match="depth"):
        create_model("fusionnet-resunet", depth=0)
    with pytest.raises(ConfigError, match="only apply to fusionnet-vgg16"):
        create_model("fusionnet-resunet", pretrained=True)


def test_tiny_fusion_is_much_smaller_than_base() -> None:
    from landbench.models.registry import count_parameters

    tiny_params = tiny("fusionnet-resunet").num_parameters()
    assert tiny_params < 400_000 < count_parameters("fusionnet-resunet")


def test_cli_zoo_table(capsys) -> None:
    from landbench.cli import main

    assert main(["models", "list", "--markdown"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| model | family | bands read | band groups | parameters")
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2:-1] for line in lines[2:]}
    assert sorted(rows) == sorted(ALL_MODELS)
    cells = {name: [c.strip() for c in row] for name, row in rows.items()}
    assert cells["unet-rgb"][1:3] == ["R, G, B", "R, G, B by name"]
    assert cells["slope-threshold"][:2] == ["no-skill", "DEM"]
    assert cells["unet-rgbdem"][1:3] == ["all", "all bands stacked"]
    assert cells["hgb-pixel"][0] == "classical" and cells["hgb-pixel"][4] == "`fit` on train"
    assert "optical" in cells["fusionnet-resunet"][2]
    assert "Lissak & Corpetti" in cells["fusionnet-resunet"][-1]


def test_cli_info(capsys) -> None:
    from landbench.cli import main

    assert main(["models", "info", "fusionnet-resunet", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["default_config"] == create_model("fusionnet-resunet").config
    assert facts["parameters"] == create_model("fusionnet-resunet").num_parameters()
    assert facts["published_weights"] == []
    assert main(["models", "info", "slope-threshold"]) == 0
    assert "fit on train" in capsys.readouterr().out
    assert main(["models", "info", "nope"]) == 2
    assert "Valid models" in capsys.readouterr().err


_TINY_CACHE: dict[str, ZooModel] = {}


@settings(max_examples=12, deadline=None)
@given(h=st.integers(1, 70), w=st.integers(1, 70), name=st.sampled_from(FUSION + ("unet-rgbdem",)))
def test_any_size_is_padded_and_cropped_back(h: int, w: int, name: str) -> None:
    model = _TINY_CACHE.setdefault(name, tiny(name).eval())
    with torch.no_grad():
        assert model(torch.randn(1, 4, h, w)).shape == (1, 1, h, w)


def test_frozen_encoders_get_no_gradient_but_the_decoder_does() -> None:
    model = tiny("fusionnet-resunet").train()
    for encoder in model.encoders():
        encoder.requires_grad_(False)
    model(_batch(h=16, w=16)["image"]).sum().backward()
    assert all(p.grad is None for e in model.encoders() for p in e.parameters())
    assert all(p.grad is not None for p in model.decoder.parameters())


@pytest.mark.parametrize("name", ALL_MODELS)
def test_every_model_is_created_for_a_band_set(name: str) -> None:
    """Landslide4Sense's 14 bands: one channel per band; subsets are picked by name."""
    info = model_info(name)
    model = tiny(name, bands=L4S_BANDS).eval()
    assert model.bands == L4S_BANDS and model.config["bands"] == list(L4S_BANDS)
    with torch.no_grad():
        out = model(torch.randn(1, 14, 33, 40))
    assert out.shape == (1, 1, 33, 40) and torch.isfinite(out).all()
    if info.bands_used is None:
        assert model.bands_used == L4S_BANDS
    else:  # R, G, B are Sentinel-2 B4, B3, B2 here
        expected = {"R": "B4", "G": "B3", "B": "B2", "DEM": "DEM"}
        assert model.bands_used == tuple(expected[b] for b in info.bands_used)
    rebuilt = create_model(name, **json.loads(json.dumps(model.config)))
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }
    with pytest.raises(ConfigError, match=r"bands.*\[N, 14, H, W\].*\[1, 4, 33, 40\]"):
        model(torch.randn(1, 4, 33, 40))


def test_models_read_their_bands_by_name() -> None:
    # unet-rgb reads R, G, B wherever they are; other channels do not matter.
    bands = ("DEM", "B", "NIR", "R", "G")
    model = tiny("unet-rgb", bands=bands).eval()
    assert model.bands_used == ("R", "G", "B") and model.net.encoder.conv1.in_channels == 3
    x = torch.randn(1, 5, 32, 32)
    y = x.clone()
    y[:, [0, 2]] = torch.randn(2, 32, 32)
    reference = tiny("unet-rgb").eval()
    reference.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(model(x), model(y))
        assert torch.equal(model(x), reference(x[:, [3, 4, 1, 0]]))
    slope = create_model("slope-threshold", bands=("elevation",))
    assert slope.bands_used == ("elevation",)
    with pytest.raises(ConfigError, match=r"unet-rgb reads band\(s\) \['R', 'G', 'B'\].*lacks"):
        create_model("unet-rgb", bands=("DEM", "slope"))
    with pytest.raises(ConfigError, match=r"slope-threshold reads band\(s\) \['DEM'\]"):
        create_model("slope-threshold", bands=("R", "G", "B", "slope"))
    with pytest.raises(ConfigError, match="name a band twice"):
        create_model("unet-rgbdem", bands=("R", "B4", "DEM"))
    with pytest.raises(ConfigError, match="non-empty list"):
        create_model("unet-rgbdem", bands="RGB")
    with pytest.raises(ConfigError, match="at most 64 bands"):
        create_model("all-background", bands=[f"x{i}" for i in range(65)])


@pytest.mark.parametrize("name", FUSION[:2])
def test_fusion_routes_optical_and_terrain_groups(name: str) -> None:
    model = tiny(name, bands=L4S_BANDS)
    first_image = next(m for m in model.image_encoder.modules() if isinstance(m, torch.nn.Conv2d))
    first_dem = next(m for m in model.dem_encoder.modules() if isinstance(m, torch.nn.Conv2d))
    assert (first_image.in_channels, first_dem.in_channels) == (12, 2)
    assert model.terrain_index == [12, 13] and model.optical_index == list(range(12))
    # Terrain channels reach the DEM encoder only: perturbing them leaves the image encoder's
    # input alone and changes the output.
    model.eval()
    x = torch.randn(1, 14, 32, 32)
    y = x.clone()
    y[:, 12:] += torch.randn(2, 32, 32)
    seen = []
    hook = model.image_encoder.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    with torch.no_grad():
        assert not torch.allclose(model(x), model(y))
    hook.remove()
    assert torch.equal(seen[0], seen[1]) and seen[0].shape[1] == 12
    with pytest.raises(ConfigError, match="at least one optical and one terrain band"):
        create_model(name, bands=("R", "G", "B"))
    with pytest.raises(ConfigError, match="at least one optical and one terrain band"):
        create_model(name, bands=("slope", "DEM"))


def test_options_are_bounded_before_anything_is_built() -> None:
    from landbench.models.registry import MAX_PARAMETERS

    with pytest.raises(ConfigError, match=r"base_channels=1000000 is outside its bound \[1, 512\]"):
        create_model("fusionnet-resunet", base_channels=1_000_000)
    with pytest.raises(ConfigError, match=rf"above the bound of {MAX_PARAMETERS:,}"):
        create_model("resunet-rgbdem", base_channels=512, depth=6)
    with pytest.raises(ConfigError, match=r"decoder_channels=5000 is outside its bound"):
        create_model("unet-rgbdem", size="tiny", decoder_channels=[5000, 16, 8])
    with pytest.raises(ConfigError, match="must be an integer"):
        create_model("fusionnet-unet", depth="3")
    with pytest.raises(ConfigError, match=r"max_iter=100000 is outside its bound"):
        create_model("hgb-pixel", max_iter=100_000)
