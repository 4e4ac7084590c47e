"""Weight files: round trip, reference-era files, wrapped networks, mismatch diagnosis, atomic writes."""

from collections import OrderedDict

import pytest
import torch
from torch import nn

from models import checkpoint
from models.checkpoint import atomic_torch_save, load_network_weights, save_network_weights, unwrap
from models.networks import define_D, define_G
from util.errors import UserError


def _same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def _resnet(**kwargs) -> nn.Module:
    args = {"netG": "resnet_6blocks", "norm": "instance", "use_dropout": False} | kwargs
    return define_G(3, 3, 4, args.pop("netG"), **args)


@pytest.mark.parametrize("build", [lambda: _resnet(norm="batch"), lambda: define_G(3, 3, 4, "unet_128")])
def test_save_load_round_trip(tmp_path, build):
    torch.manual_seed(0)
    saved = build()
    saved.train()(torch.randn(2, 3, 128, 128))  # move BatchNorm statistics away from their defaults
    path = tmp_path / "latest_net_G.pth"
    save_network_weights(saved, path)
    loaded = build()
    assert not _same_state(saved, loaded)
    load_network_weights(loaded, path)
    assert _same_state(saved, loaded)
    assert list(tmp_path.iterdir()) == [path]  # no .tmp left behind


def test_saved_file_is_a_plain_cpu_state_dict_of_the_unwrapped_net(tmp_path):
    net = _resnet()
    wrapped = nn.DataParallel(net)  # stands in for DDP: both keep the network in .module
    assert unwrap(wrapped) is net
    save_network_weights(wrapped, tmp_path / "w.pth")
    state = torch.load(tmp_path / "w.pth", weights_only=True)
    assert list(state) == list(net.state_dict())
    assert all(t.device.type == "cpu" for t in state.values())


def test_unwrap_compiled_module():
    net = _resnet()

    class Compiled(nn.Module):  # what torch.compile(net) returns keeps the network in ._orig_mod
        def __init__(self, inner):
            super().__init__()
            self._orig_mod = inner

    assert unwrap(nn.DataParallel(Compiled(net))) is net


def test_reference_file_with_legacy_instance_norm_statistics_loads(tmp_path):
    """Files from PyTorch < 0.4 carry InstanceNorm running stats that today's InstanceNorm lacks."""
    saved = _resnet()
    state = OrderedDict(saved.state_dict())
    for name, m in saved.named_modules():
        if isinstance(m, nn.InstanceNorm2d):
            state[f"{name}.running_mean"] = torch.zeros(m.num_features)
            state[f"{name}.running_var"] = torch.ones(m.num_features)
            state[f"{name}.num_batches_tracked"] = torch.tensor(0)
    torch.save(state, tmp_path / "old.pth")
    loaded = _resnet()
    load_network_weights(loaded, tmp_path / "old.pth")
    assert _same_state(saved, loaded)


def test_old_batchnorm_file_without_step_counter_loads(tmp_path):
    saved = _resnet(norm="batch")
    state = OrderedDict(
        (k, v) for k, v in saved.state_dict().items() if not k.endswith("num_batches_tracked")
    )
    torch.save(state, tmp_path / "old.pth")
    loaded = _resnet(norm="batch")
    load_network_weights(loaded, tmp_path / "old.pth")
    torch.testing.assert_close(loaded.model[2].running_var, saved.model[2].running_var)


def test_ddp_prefixed_file_loads(tmp_path):
    saved = define_D(6, 4, "basic", norm="batch")
    torch.save(OrderedDict((f"module.{k}", v) for k, v in saved.state_dict().items()), tmp_path / "ddp.pth")
    loaded = define_D(6, 4, "basic", norm="batch")
    load_network_weights(loaded, tmp_path / "ddp.pth")
    assert _same_state(saved, loaded)


@pytest.mark.parametrize(
    "file_net,net,flag,reason",
    [
        (
            lambda: _resnet(),
            lambda: define_G(3, 3, 4, "unet_128", norm="instance"),
            "--netG",
            "ResNet generator",
        ),
        (lambda: _resnet(use_dropout=True), lambda: _resnet(), "--no_dropout", "with dropout"),
        (
            lambda: _resnet(norm="batch"),
            lambda: _resnet(norm="batch", use_dropout=True),
            "--no_dropout",
            "without",
        ),
        (lambda: _resnet(norm="batch"), lambda: _resnet(), "--norm", "BatchNorm statistics"),
        (lambda: _resnet(), lambda: _resnet(norm="batch"), "--norm", "looks like --norm instance"),
        (
            lambda: define_G(3, 3, 4, "unet_128", "none"),
            lambda: define_G(3, 3, 4, "unet_128"),
            "--norm",
            "--norm none",
        ),
        (lambda: _resnet(), lambda: _resnet(norm="none"), "--norm", "instance"),
        (
            lambda: _resnet(netG="resnet_6blocks"),
            lambda: _resnet(netG="resnet_9blocks"),
            "--netG",
            "resnet_6blocks",
        ),
        (lambda: define_G(3, 3, 4, "unet_128"), lambda: define_G(3, 3, 4, "unet_256"), "--netG", "unet_128"),
        (
            lambda: define_G(1, 3, 4, "unet_128"),
            lambda: define_G(3, 3, 4, "unet_128"),
            "--input_nc",
            "takes 1",
        ),
        (
            lambda: _resnet(),
            lambda: define_G(3, 2, 4, "resnet_6blocks", "instance"),
            "--output_nc",
            "makes 3",
        ),
        (lambda: _resnet(), lambda: define_G(3, 3, 8, "resnet_6blocks", "instance"), "--ngf", "4 filters"),
        (lambda: define_D(6, 4, "pixel"), lambda: define_D(6, 4, "basic"), "--netD", "pixel"),
        (lambda: define_D(6, 4, "basic"), lambda: _resnet(), "file name", "PatchGAN"),
    ],
)
def test_wrong_architecture_names_the_likely_flag(tmp_path, file_net, net, flag, reason):
    path = tmp_path / "latest_net_G.pth"
    save_network_weights(file_net(), path)
    with pytest.raises(UserError) as err:
        load_network_weights(net(), path, flag_hint="for network G")
    message = str(err.value)
    assert flag in message and reason in message
    assert message.startswith(f"cannot load {path} for network G: ")
    assert len(message) < 300 + len(str(path)) and "\n" not in message


def test_missing_and_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(UserError, match="nothing.pth not found"):
        load_network_weights(_resnet(), tmp_path / "nothing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read .*junk.pth"):
        load_network_weights(_resnet(), tmp_path / "junk.pth")
    torch.save({"epoch": 3, "optimizer": {}}, tmp_path / "state.pth")
    with pytest.raises(UserError, match="state.pth is not a network weights file"):
        load_network_weights(_resnet(), tmp_path / "state.pth")


def test_atomic_save_replaces_and_leaves_no_tmp(tmp_path):
    path = tmp_path / "train_state.pth"
    atomic_torch_save({"epoch": 1}, path)
    atomic_torch_save({"epoch": 2}, path)
    assert torch.load(path, weights_only=True) == {"epoch": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_state.pth"]


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "latest_net_G.pth"
    old = _resnet()
    save_network_weights(old, path)

    def write_half_then_fail(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of writing

    monkeypatch.setattr(checkpoint.torch, "save", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        save_network_weights(_resnet(), path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest_net_G.pth"]
    reloaded = _resnet()
    load_network_weights(reloaded, path)
    assert _same_state(old, reloaded)
