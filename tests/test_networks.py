"""Networks: reference state_dict keys, forward/backward per registry entry, grad checkpointing, init."""

import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from models import networks
from models.networks import (
    DISCRIMINATORS,
    GENERATORS,
    define_D,
    define_G,
    get_norm_layer,
    init_weights,
)
from util.errors import UserError

REFERENCE_KEYS = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "reference_state_dict_keys.json"
)
if not REFERENCE_KEYS.exists():  # a copy may travel with the repository
    REFERENCE_KEYS = Path(__file__).parent / "data" / "reference_state_dict_keys.json"


def _reference_entries() -> dict:
    if not REFERENCE_KEYS.exists():
        return {}
    return json.loads(REFERENCE_KEYS.read_text())


def _build_reference_entry(name: str) -> nn.Module:
    """Entries are named like 'G netG=unet_256 norm=batch dropout=True ngf=64 in=3 out=3'."""
    s = dict(re.findall(r"(\w+)=(\S+)", name))
    with torch.device("meta"):  # shapes and keys without allocating 54M parameters
        if name.startswith("G "):
            dropout = s["dropout"] == "True"
            return define_G(int(s["in"]), int(s["out"]), int(s["ngf"]), s["netG"], s["norm"], dropout)
        return define_D(int(s["in"]), int(s["ndf"]), s["netD"], norm=s["norm"])


@pytest.mark.parametrize("name", list(_reference_entries()) or [pytest.param("none", marks=pytest.mark.skip)])
def test_state_dict_matches_reference(name):
    entry = _reference_entries()[name]
    net = _build_reference_entry(name)
    ours = [(k, list(v.shape)) for k, v in net.state_dict().items()]
    assert ours == [(k, list(shape)) for k, shape in entry["state_dict"].items()]
    assert sum(p.numel() for p in net.parameters()) == entry["params"]


def test_parameter_counts_from_spec():
    with torch.device("meta"):
        assert (
            sum(p.numel() for p in define_G(3, 3, 64, "resnet_9blocks", "instance").parameters())
            == 11_378_179
        )
        assert (
            sum(p.numel() for p in define_G(3, 3, 64, "unet_128", "batch", True).parameters()) == 41_828_995
        )
        assert sum(p.numel() for p in define_D(6, 64, "pixel", norm="batch").parameters()) == 9_024


# -- forward / backward on tiny inputs -----------------------------------------------------------------
def _assert_all_grads_finite(net: nn.Module) -> None:
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
@pytest.mark.parametrize("netG", list(GENERATORS))
def test_generator_forward_backward(netG, norm):
    torch.manual_seed(0)
    net = define_G(3, 2, 4, netG, norm=norm, use_dropout=True)
    size = max(32, net.input_size_multiple)
    x = torch.randn(1, 3, size, size)
    y = net(x)
    assert y.shape == (1, 2, size, size)
    assert y.abs().max() <= 1.0  # Tanh output
    y.square().mean().backward()
    _assert_all_grads_finite(net)


@pytest.mark.parametrize("netD", list(DISCRIMINATORS))
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_discriminator_forward_backward(netD, norm):
    torch.manual_seed(0)
    net = define_D(6, 4, netD, n_layers_D=2, norm=norm)
    y = net(torch.randn(2, 6, 64, 64))
    expected_side = {"basic": 64 // 8 - 2, "n_layers": 64 // 4 - 2, "pixel": 64}[netD]
    assert y.shape == (2, 1, expected_side, expected_side)
    y.mean().backward()
    _assert_all_grads_finite(net)


def test_basic_discriminator_gives_30x30_patches_at_256():
    net = define_D(3, 4, "basic", norm="instance")
    with torch.no_grad():
        assert net(torch.randn(1, 3, 256, 256)).shape == (1, 1, 30, 30)


@pytest.mark.parametrize("alias", ["syncbatch", "sync_batch"])
def test_syncbatch_builds_syncbatchnorm_layers(alias):
    net = define_G(3, 3, 4, "resnet_6blocks", norm=alias)
    norms = [m for m in net.modules() if isinstance(m, nn.SyncBatchNorm)]
    assert len(norms) == 5 + 2 * 6
    assert not any(type(m) is nn.BatchNorm2d for m in net.modules())
    assert all(m.weight.mean() != 0 for m in norms)  # initialised N(1, gain) like BatchNorm (SPEC §3 fix)


def test_sync_instance_is_instance_norm():
    assert get_norm_layer("sync_instance") is get_norm_layer("instance")
    keys = define_G(3, 3, 4, "resnet_6blocks", norm="sync_instance").state_dict().keys()
    assert "model.1.bias" in keys and not any("running_mean" in k for k in keys)


def test_norm_none_convs_have_no_bias():
    """The reference's bias rule only adds biases for instance norm; its checkpoints depend on it."""
    keys = define_G(3, 3, 4, "resnet_6blocks", norm="none").state_dict().keys()
    assert "model.1.bias" not in keys and "model.10.conv_block.1.bias" not in keys
    assert "model.23.bias" in keys  # the output conv always has one


# -- gradient checkpointing ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "netG,norm,size",
    [
        ("resnet_6blocks", "batch", 32),
        ("resnet_6blocks", "instance", 32),
        ("unet_128", "batch", 128),
        ("unet_256", "none", 256),
    ],
)
def test_grad_checkpoint_matches_plain_forward_and_backward(netG, norm, size):
    torch.manual_seed(0)
    plain = define_G(3, 3, 4, netG, norm=norm, use_dropout=True)
    ckpt = define_G(3, 3, 4, netG, norm=norm, use_dropout=True, grad_checkpoint=True)
    ckpt.load_state_dict(plain.state_dict())
    assert list(ckpt.state_dict()) == list(plain.state_dict())
    x = torch.randn(2, 3, size, size)
    outputs = []
    for net in (plain, ckpt):
        torch.manual_seed(1)  # same dropout masks
        y = net(x)
        (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
        outputs.append(y.detach())
    torch.testing.assert_close(outputs[1], outputs[0])
    for (name, p), q in zip(plain.named_parameters(), ckpt.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)
    for (name, b), c in zip(plain.named_buffers(), ckpt.buffers()):  # BatchNorm stats updated once, not twice
        torch.testing.assert_close(c, b, msg=name)


def test_grad_checkpoint_is_a_settable_attribute():
    net = define_G(3, 3, 4, "unet_128")
    net.grad_checkpoint = True
    blocks = [m for m in net.modules() if isinstance(m, networks.UnetSkipConnectionBlock)]
    assert len(blocks) == 7 and all(b.grad_checkpoint for b in blocks)
    net.grad_checkpoint = False
    assert not any(b.grad_checkpoint for b in blocks)


# -- init ----------------------------------------------------------------------------------------------
def _stats(t: torch.Tensor) -> tuple[float, float]:
    return t.mean().item(), t.std().item()


@pytest.mark.parametrize("init_type", networks.INIT_TYPES)
def test_init_statistics(init_type):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(64, 128, 3), nn.BatchNorm2d(4096), nn.ConvTranspose2d(8, 8, 3))
    init_weights(net, init_type, init_gain=0.05)
    w = net[0].weight
    fan_in = 64 * 9
    expected_std = {
        "normal": 0.05,
        "xavier": 0.05 * (2 / (fan_in + 128 * 9)) ** 0.5,
        "kaiming": (2 / fan_in) ** 0.5,
    }
    mean, std = _stats(w)
    assert abs(mean) < 0.02 * std
    if init_type == "orthogonal":
        rows = w.reshape(128, -1)
        torch.testing.assert_close(rows @ rows.T, 0.05**2 * torch.eye(128), atol=1e-4, rtol=0)
    else:
        assert std == pytest.approx(expected_std[init_type], rel=0.03)
    assert net[0].bias.abs().max() == 0 and net[2].bias.abs().max() == 0
    bn_mean, bn_std = _stats(net[1].weight)
    assert bn_mean == pytest.approx(1.0, abs=0.005) and bn_std == pytest.approx(0.05, rel=0.05)
    assert net[1].bias.abs().max() == 0


def test_default_init_is_the_papers_gaussian():
    torch.manual_seed(0)
    net = define_G(3, 3, 16, "resnet_6blocks", norm="batch")
    mean, std = _stats(net.model[10].conv_block[1].weight)  # 64·64·9 weights
    assert abs(mean) < 1e-3 and std == pytest.approx(0.02, rel=0.03)
    assert _stats(net.model[2].weight)[0] == pytest.approx(1.0, abs=0.01)


# -- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build,flag",
    [
        (lambda: define_G(3, 3, 4, "unet_512"), "--netG"),
        (lambda: define_D(3, 4, "global"), "--netD"),
        (lambda: define_G(3, 3, 4, "unet_128", norm="group"), "--norm"),
        (lambda: define_D(3, 4, "basic", norm="layer"), "--norm"),
        (lambda: define_G(3, 3, 4, "unet_128", init_type="uniform"), "--init_type"),
    ],
)
def test_unknown_names_raise_user_error_naming_the_flag(build, flag):
    with pytest.raises(UserError, match=flag) as err:
        build()
    assert "choose one of" in str(err.value) and "\n" not in str(err.value)
