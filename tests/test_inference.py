"""The Python inference API (models.load_generator), padding, tiling and the norms inference runs with."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from models import load_generator
from models.checkpoint import save_network_weights
from models.inference import Translator, prepare_generator
from models.networks import GENERATOR_NAMES, define_G
from models.tiling import fixed_statistics, recording, reflect_pad, run_padded, run_tiled
from util.errors import UserError
from util.image_io import read_image, write_image

CPU = torch.device("cpu")


def write_checkpoint(folder, netG="resnet_6blocks", norm="instance", ngf=4, dropout=False, input_nc=3,
                     output_nc=3, model="pix2pix", which="G", architecture_json=True, seed=0) -> torch.nn.Module:  # fmt: skip
    """A trained-looking checkpoint folder: ``latest_net_{which}.pth`` (+ architecture.json)."""
    torch.manual_seed(seed)
    net = define_G(input_nc, output_nc, ngf, netG, norm, dropout)
    os.makedirs(folder, exist_ok=True)
    save_network_weights(net, os.path.join(folder, f"latest_net_{which}.pth"))
    if architecture_json:
        arch = dict(model=model, input_nc=input_nc, output_nc=output_nc, ngf=ngf, ndf=4, netG=netG,
                    netD="basic", n_layers_D=3, norm=norm, no_dropout=not dropout)  # fmt: skip
        with open(os.path.join(folder, "architecture.json"), "w") as f:
            json.dump(arch, f)
    return net


def translator(netG="resnet_6blocks", norm="instance", eval_mode=False, dropout=False, **kw) -> Translator:
    torch.manual_seed(0)
    net = prepare_generator(define_G(3, 3, 4, netG, norm, dropout), eval_mode)
    return Translator(net, dict(input_nc=3, output_nc=3), device=CPU, eval_mode=eval_mode, **kw)


# -- sizes ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("netG", GENERATOR_NAMES)
def test_any_size_in_same_size_out(netG):
    t = translator(netG, norm="batch")
    for h, w in [(1, 1), (1, 6), (5, 3), (33, 18), (130, 259)]:
        out = t(torch.rand(3, h, w) * 2 - 1)
        assert out.shape == (3, h, w), (netG, h, w)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("h, w", [(1, 1), (1, 9), (2, 3), (7, 30), (37, 256), (257, 5)])
@pytest.mark.parametrize("multiple", [4, 256])
def test_padding_is_cropped_back_exactly(h, w, multiple):
    """With an identity 'network' the crop must return the input pixel for pixel."""
    x = torch.arange(h * w * 2, dtype=torch.float32).reshape(1, 2, h, w)
    seen = []

    def identity(t):
        seen.append(t.shape[2:])
        return t

    assert torch.equal(run_padded(identity, x, multiple), x)
    assert all(s % multiple == 0 and s >= 8 for s in seen[0])


def test_reflect_pad_reflects():
    x = torch.tensor([[[[1.0, 2.0, 3.0]]]])
    assert reflect_pad(x, 1, 7).flatten().tolist() == [3, 2, 1, 2, 3, 2, 1]


# -- modes ------------------------------------------------------------------------------------------------
def _batch_norm_unet() -> torch.nn.Module:
    torch.manual_seed(0)
    net = define_G(3, 3, 4, "unet_128", "batch", use_dropout=False)
    for m in net.modules():  # running statistics far from any image's, so the two modes differ
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(0.5)
    return net


def test_default_mode_is_test_py_train_mode_and_eval_is_eval():
    """Default = the reference's test.py: BatchNorm with the image's own statistics; --eval: running stats."""
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        want_train = _batch_norm_unet().train()(x)
        want_eval = _batch_norm_unet().eval()(x)
    arch = dict(input_nc=3, output_nc=3)
    train = Translator(prepare_generator(_batch_norm_unet(), eval_mode=False), arch, device=CPU)
    evaluated = Translator(prepare_generator(_batch_norm_unet(), eval_mode=True), arch, device=CPU)
    torch.testing.assert_close(train(x), want_train, atol=1e-5, rtol=0)
    torch.testing.assert_close(evaluated(x), want_eval, atol=1e-5, rtol=0)
    assert (want_train - want_eval).abs().max() > 0.01


def test_dropout_is_on_by_default_and_seed_makes_it_repeatable():
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    free = translator(dropout=True)
    assert not torch.equal(free(x), free(x))
    first = translator(dropout=True, seed=3)(x)
    torch.manual_seed(99)  # whatever the global generator holds, the seed decides the masks
    assert torch.equal(translator(dropout=True, seed=3)(x), first)
    assert not torch.equal(translator(dropout=True, seed=4)(x), first)
    evaluated = translator(dropout=True, eval_mode=True)
    assert torch.equal(evaluated(x), evaluated(x))


# -- tiles ------------------------------------------------------------------------------------------------
def _smooth_image(side: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    s = torch.linspace(0, 1, side)
    base = torch.stack([torch.sin(6 * s)[:, None] * torch.cos(4 * s)[None, :], s[:, None] * s[None, :] * 2 - 1,
                        torch.cos(9 * s[:, None] + 3 * s[None, :])])  # fmt: skip
    return (0.8 * base + 0.03 * torch.randn(3, side, side, generator=g))[None]


def test_tiles_use_whole_image_statistics():
    """Tiled = whole image up to the tiles' borders; normalising each tile by its own statistics is far worse."""
    x = _smooth_image(128)
    whole = translator()(x)
    tiled = translator(tile=64)(x)
    mean_diff = ((tiled - whole).abs() / 2).mean().item()  # in [0, 1] pixel units
    t = translator()
    with torch.no_grad():
        own_stats = run_tiled(t.net, x, 64, 16, 3)
    own_diff = ((own_stats - whole).abs() / 2).mean().item()
    print(f"tiled vs whole mean {mean_diff:.5f}, tiles with their own statistics {own_diff:.5f}")
    assert mean_diff < 0.02
    assert not torch.equal(translator(tile=64, stats_side=64)(x), tiled)  # statistics from a downscaled copy
    assert own_diff > 3 * mean_diff


def test_recorded_statistics_reproduce_the_whole_image():
    """Fixing the statistics recorded on an image reproduces that image's output: what every tile gets."""
    t = translator()
    x = _smooth_image(96)
    stats: list = []
    with torch.no_grad(), recording(t.net, stats):
        whole = t.net(x)
    assert len(stats) == 1 + 2 + 6 * 2 + 2  # every instance norm of resnet_6blocks recorded
    with torch.no_grad(), fixed_statistics(t.net, stats):
        torch.testing.assert_close(t.net(x), whole)


def test_eval_mode_batch_norm_tiles_need_no_statistics():
    x = _smooth_image(64)
    whole = translator("unet_128", "batch", eval_mode=True)(x)  # 64 px pads to 128: one tile
    tiled = translator("unet_128", "batch", eval_mode=True, tile=128)(x)
    assert torch.equal(whole, tiled)


# -- the API on files and types ---------------------------------------------------------------------------
def test_api_keeps_the_kind_mode_and_size(tmp_path):
    write_checkpoint(tmp_path / "ck")
    g = load_generator(str(tmp_path / "ck"), seed=0)
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (21, 34, 3), dtype=np.uint8))
    out = g(rgb)
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (34, 21)
    rgba = g(rgb.convert("RGBA"))
    assert rgba.mode == "RGBA" and np.asarray(rgba)[:, :, 3].min() == 255  # alpha put back
    arr = g(np.asarray(rgb))
    assert arr.dtype == np.uint8 and arr.shape == (21, 34, 3)
    np.testing.assert_array_equal(arr, np.asarray(out))  # same pixels whichever way in
    tensor = g(torch.rand(2, 3, 21, 34) * 2 - 1)
    assert tensor.shape == (2, 3, 21, 34)
    with pytest.raises(TypeError, match="PIL image, a numpy array or a tensor"):
        g([1, 2])


def test_sixteen_bit_in_sixteen_bit_out_with_the_network_values(tmp_path):
    write_checkpoint(tmp_path / "ck", input_nc=1, output_nc=1)
    g = load_generator(str(tmp_path / "ck"), eval=True)
    pixels = np.random.default_rng(1).integers(0, 65536, (19, 23), dtype=np.uint16)
    path = str(tmp_path / "in.png")
    write_image(path, pixels)
    out = g.translate_array(read_image(path))
    assert out.dtype == np.uint16 and out.shape == (19, 23, 1)
    x = torch.from_numpy(pixels.astype(np.float32) / 65535)[None, None] * 2 - 1
    want = np.rint(np.clip((g(x)[0, 0].numpy() + 1) / 2, 0, 1) * 65535)
    np.testing.assert_array_equal(out[:, :, 0], want)
    assert np.count_nonzero(out % 257) > out.size // 2  # not 8-bit values scaled up
    pil = g(Image.fromarray(pixels))
    assert pil.mode == "I;16"


def test_n_channel_npy(tmp_path):
    write_checkpoint(tmp_path / "ck", input_nc=5, output_nc=4)
    g = load_generator(str(tmp_path / "ck"), eval=True)
    data = np.random.default_rng(2).random((13, 17, 5), dtype=np.float32)
    out = g(data)
    assert out.dtype == np.float32 and out.shape == (13, 17, 4)
    assert out.min() >= 0.0 and out.max() <= 1.0
    with pytest.raises(UserError, match="has 3 channels; the generator takes 5"):
        g(data[:, :, :3])


@pytest.mark.slow
def test_reference_checkpoint_without_architecture_json(tmp_path):
    """The published CycleGAN models: resnet_9blocks, ngf 64, instance norm, no dropout; `--model test --no_dropout`."""
    write_checkpoint(
        tmp_path / "horse2zebra_pretrained", netG="resnet_9blocks", ngf=64, architecture_json=False
    )
    folder = str(tmp_path / "horse2zebra_pretrained")
    g = load_generator(folder, model="test", no_dropout=True)
    assert g.architecture["netG"] == "resnet_9blocks" and g.architecture["ngf"] == 64
    assert g(np.zeros((9, 11, 3), np.uint8)).shape == (9, 11, 3)
    with pytest.raises(UserError, match="check --no_dropout"):
        load_generator(folder, model="test")  # the reference's test model keeps dropout unless told
    g = load_generator(os.path.join(folder, "latest_net_G.pth"), model="cycle_gan")  # a file works too
    assert g.architecture["no_dropout"] is True


def test_cycle_gan_picks_g_a_and_swaps_channels_for_g_b(tmp_path):
    write_checkpoint(tmp_path / "ck", model="cycle_gan", which="G_A", input_nc=1, output_nc=3)
    write_checkpoint(
        tmp_path / "ck", model="cycle_gan", which="G_B", input_nc=3, output_nc=1, architecture_json=False
    )
    assert load_generator(str(tmp_path / "ck")).input_nc == 1  # no G: G_A
    assert load_generator(str(tmp_path / "ck"), which="G_B").input_nc == 3


def test_clear_errors(tmp_path):
    write_checkpoint(tmp_path / "ck")
    with pytest.raises(UserError, match="--which G_C is unknown; choose one of: G, G_A, G_B"):
        load_generator(str(tmp_path / "ck"), which="G_C")
    with pytest.raises(UserError, match="no checkpoint folder"):
        load_generator(str(tmp_path / "nope"))
    with pytest.raises(UserError, match=r"latest_net_G_B\.pth not found; .* latest_net_G\.pth"):
        load_generator(str(tmp_path / "ck"), which="G_B")
    with pytest.raises(UserError, match="check --netG"):
        load_generator(str(tmp_path / "ck"), netG="unet_128")
    with pytest.raises(UserError, match="--tile 0 must be a positive"):
        load_generator(str(tmp_path / "ck"), tile=0)
