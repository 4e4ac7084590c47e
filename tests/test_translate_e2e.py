"""translate.py and export.py as a user runs them, and the pretrained-model download scripts."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import ROOT, run_script
from tests.test_inference import write_checkpoint
from util.image_io import read_image, write_image


def _inputs(folder) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    files = {
        "a.jpg": rng.integers(0, 256, (30, 41, 3), dtype=np.uint8),
        "sub/b.png": rng.integers(0, 65536, (17, 9), dtype=np.uint16),
        "sub/deeper/c.tif": rng.integers(0, 65536, (12, 13, 3), dtype=np.uint16),
        "sub/d.npy": rng.random((8, 5, 3), dtype=np.float32),
    }
    for rel, pixels in files.items():
        write_image(str(folder / rel), pixels)
    (folder / "notes.txt").write_text("not an image")
    return files


@pytest.mark.slow
def test_translate_mirrors_the_folder_and_keeps_depth(tmp_path):
    write_checkpoint(tmp_path / "ck" / "run")
    files = _inputs(tmp_path / "in")
    out = tmp_path / "out"
    argv = [
        "translate.py",
        "--name",
        "run",
        "--checkpoints_dir",
        str(tmp_path / "ck"),
        "--input",
        str(tmp_path / "in"),
    ]
    r = run_script([*argv, "--output", str(out), "--seed", "1"])
    assert r.returncode == 0, r.stderr
    assert "translated 4 images" in r.stdout and "mode: train" in r.stdout
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(files)
    for rel, pixels in files.items():
        got = read_image(str(out / rel))
        assert got.dtype == pixels.dtype and got.shape[:2] == pixels.shape[:2], rel
    again = tmp_path / "again"
    from translate import main

    assert main([*argv[1:], "--output", str(again), "--seed", "1"]) == 0  # same seed, same dropout masks
    np.testing.assert_array_equal(read_image(str(again / "sub/b.png")), read_image(str(out / "sub/b.png")))


def test_translate_errors_are_one_line(tmp_path, capsys):
    from translate import main

    write_checkpoint(tmp_path / "ck" / "run")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.png").write_bytes(b"no png")
    base = ["--checkpoints_dir", str(tmp_path / "ck"), "--output", str(tmp_path / "o")]
    cases = {
        (
            "--name",
            "run",
            "--input",
            str(tmp_path / "in"),
            "--which",
            "G_X",
        ): "--which G_X is unknown; choose one of",
        ("--name", "missing", "--input", str(tmp_path / "in")): "no checkpoint folder",
        ("--name", "run", "--input", str(tmp_path / "in")): "cannot read image",
        ("--name", "run", "--input", str(tmp_path / "nowhere")): "neither an image file nor a folder",
        ("--name", "run", "--input", str(tmp_path / "in"), "--netG", "unet_256"): "check --netG",
    }
    for args, message in cases.items():
        assert main([*base, *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, (args, err)


@pytest.mark.slow
def test_translate_error_exit_status(tmp_path):
    write_image(str(tmp_path / "x.png"), np.zeros((4, 4, 3), np.uint8))
    r = run_script(
        [
            "translate.py",
            "--name",
            "missing",
            "--checkpoints_dir",
            str(tmp_path),
            "--input",
            str(tmp_path / "x.png"),
        ]
    )
    assert (
        r.returncode == 2
        and r.stderr.startswith("error: no checkpoint folder")
        and "Traceback" not in r.stderr
    )


# -- export -----------------------------------------------------------------------------------------------
def _export(tmp_path, *args):
    from export import export

    return export(["--checkpoints_dir", str(tmp_path / "ck"), "--name", "run", *args])


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("netG, norm", [("resnet_9blocks", "instance"), ("unet_256", "batch")])
@pytest.mark.parametrize("mode", [[], ["--eval"]])
def test_export_parity(tmp_path, fmt, netG, norm, mode, capsys):
    """The exported model computes translate.py's generator (tiny ngf) at two sizes not the tracing size."""
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    write_checkpoint(tmp_path / "ck" / "run", netG=netG, norm=norm, dropout=False)
    _export(tmp_path, "--format", fmt, "--output", str(tmp_path / "g"), "--check", "--size", "32", *mode)
    checks = [line for line in capsys.readouterr().out.splitlines() if line.startswith("check ")]
    assert len(checks) == 2
    assert all(float(line.rsplit(" ", 1)[1]) <= 1e-4 for line in checks), checks


@pytest.mark.slow
def test_export_train_mode_batch_norm_uses_batch_statistics(tmp_path):
    """The exporter alone freezes train-mode BatchNorm to running statistics; ours must not."""
    ort = pytest.importorskip("onnxruntime")
    net = write_checkpoint(tmp_path / "ck" / "run", netG="unet_256", norm="batch")
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.fill_(9.0)
    torch.save(net.state_dict(), tmp_path / "ck" / "run" / "latest_net_G.pth")
    _export(tmp_path, "--format", "onnx", "--output", str(tmp_path / "g.onnx"), "--size", "256")
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        want = net.train()(x).numpy()
    got = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"input": x.numpy()}
    )[0]
    assert abs(got - want).max() < 1e-4


@pytest.mark.slow
def test_export_refuses_what_it_cannot_reproduce(tmp_path):
    from util.errors import UserError

    write_checkpoint(tmp_path / "ck" / "run", netG="unet_256", norm="batch", dropout=True)
    with pytest.raises(UserError, match="dropout layers.*--eval.*--drop_dropout"):
        _export(tmp_path, "--format", "onnx", "--output", str(tmp_path / "g.onnx"))
    with pytest.raises(UserError, match="--format tflite is unknown; choose one of: onnx, torchscript"):
        _export(tmp_path, "--format", "tflite", "--output", str(tmp_path / "g"))
    r = run_script(["export.py", "--name", "run", "--checkpoints_dir", str(tmp_path / "ck"), "--format", "onnx",
                    "--output", str(tmp_path / "g.onnx")])  # fmt: skip
    assert r.returncode == 2 and r.stderr.startswith("error: this generator has 3 dropout layers")


# -- download scripts -------------------------------------------------------------------------------------
def _download(tmp_path, script: str, *args: str) -> subprocess.CompletedProcess:
    """Run the script with a stub wget that records its arguments and writes a fake file."""
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "wget").write_text(
        '#!/bin/sh\necho "$@" > "$WGET_LOG"\nwhile [ "$1" != "-O" ]; do shift; done\necho w > "$2"\n'
    )
    (stub / "wget").chmod(0o755)
    env = {**os.environ, "PATH": f"{stub}:{os.environ['PATH']}", "WGET_LOG": str(tmp_path / "wget.log"),
           "CHECKPOINTS_DIR": str(tmp_path / "checkpoints")}  # fmt: skip
    return subprocess.run(
        ["bash", os.path.join(ROOT, "scripts", script), *args], env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "script, name, url",
    [
        ("download_cyclegan_model.sh", "horse2zebra", "https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/horse2zebra.pth"),
        ("download_pix2pix_model.sh", "facades_label2photo", "https://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/facades_label2photo.pth"),
    ],
)  # fmt: skip
def test_download_scripts_use_the_reference_layout(tmp_path, script, name, url):
    r = _download(tmp_path, script, name)
    assert r.returncode == 0, r.stderr
    assert url in (tmp_path / "wget.log").read_text()
    assert (tmp_path / "checkpoints" / f"{name}_pretrained" / "latest_net_G.pth").read_text() == "w\n"
    assert "python translate.py --name " + f"{name}_pretrained" in r.stdout


@pytest.mark.parametrize("script", ["download_cyclegan_model.sh", "download_pix2pix_model.sh"])
def test_download_scripts_check_their_argument(tmp_path, script):
    for args, message in [
        ((), "give exactly one model name"),
        (("horse", "zebra"), "exactly one"),
        (("nope",), "unknown model 'nope'"),
    ]:
        r = _download(tmp_path, script, *args)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and message in r.stderr
        assert not (tmp_path / "wget.log").exists() and not (tmp_path / "checkpoints").exists()


def test_download_lists_match_the_reference():
    cyclegan = "apple2orange orange2apple summer2winter_yosemite winter2summer_yosemite horse2zebra zebra2horse monet2photo style_monet style_cezanne style_ukiyoe style_vangogh sat2map map2sat cityscapes_photo2label cityscapes_label2photo facades_photo2label facades_label2photo iphone2dslr_flower"
    pix2pix = "edges2shoes sat2map map2sat facades_label2photo day2night"
    for script, names in [("download_cyclegan_model.sh", cyclegan), ("download_pix2pix_model.sh", pix2pix)]:
        with open(os.path.join(ROOT, "scripts", script)) as f:
            assert f'NAMES="{names}"' in f.read()


def test_translated_image_opens_in_pillow(tmp_path):
    write_checkpoint(tmp_path / "ck" / "run")
    write_image(str(tmp_path / "x.png"), np.zeros((5, 6, 3), np.uint8))
    from translate import main

    assert main(["--name", "run", "--checkpoints_dir", str(tmp_path / "ck"), "--input", str(tmp_path / "x.png"),
                 "--output", str(tmp_path / "o"), "--eval"]) == 0  # fmt: skip
    assert Image.open(tmp_path / "o" / "x.png").size == (6, 5)
