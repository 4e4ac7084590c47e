"""What test.py writes: one result per input, read-only and full folders, the checkpoint's --direction."""

from __future__ import annotations

import errno
import json
import os
import re
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data.builtin import make_paired_dataset
from tests.helpers import ROOT
from tests.test_train_e2e import train
from util.result_names import ResultNames, planned_names


@pytest.fixture(scope="module")
def btoa_run(tmp_path_factory) -> tuple[Path, Path]:
    """(dataroot, checkpoints_dir) of a tiny pix2pix trained with --direction BtoA into checkpoints/btoa."""
    root = tmp_path_factory.mktemp("results")
    data = Path(make_paired_dataset(str(root / "facades"), n_train=4, n_val=1, n_test=3, size=32))
    done = train(data, root / "ck", "btoa", "--direction", "BtoA", "--n_epochs", "1", "--n_epochs_decay", "0")
    assert done.returncode == 0, done.stderr
    return data, root / "ck"


@pytest.fixture(scope="module")
def test_main():
    # loaded by path: `import test` would find Python's own test package
    return runpy.run_path(os.path.join(ROOT, "test.py"))["main"]


def run_test(test_main, ck: Path, results: Path, dataroot: Path, *extra: str) -> int:
    argv = ["--dataroot", str(dataroot), "--name", "btoa", "--checkpoints_dir", str(ck)]
    return test_main(argv + ["--results_dir", str(results), "--load_size", "32", "--crop_size", "32", *extra])


def rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


# ------------------------------------------------------------------ result names


def test_colliding_stems_keep_folder_then_extension_and_unique_stems_stay_bare():
    paths = ["/d/a/x.png", "/d/b/x.png", "/d/x.jpg", "/d/y.png", "/d/c/z.png", "/d/c/z.jpg"]
    assert planned_names(paths) == {
        "/d/a/x.png": "a/x",
        "/d/b/x.png": "b/x",
        "/d/x.jpg": "x",
        "/d/y.png": "y",
        "/d/c/z.png": "c/z.png",
        "/d/c/z.jpg": "c/z.jpg",
    }


def test_an_input_met_again_or_unplanned_never_reuses_a_name():
    names = ResultNames(["/d/x.png", "/d/y.png"])
    assert [names.name(p) for p in ("/d/x.png", "/d/y.png", "/d/x.png", "/e/x.png")] == [
        "x",
        "y",
        "x~2",
        "x~3",
    ]


@pytest.mark.slow  # trains a tiny pix2pix once per module
def test_same_named_inputs_each_get_their_own_result_and_row(btoa_run, test_main, tmp_path):
    _, ck = btoa_run
    inputs = tmp_path / "inputs"
    colours = {"a/x.png": (255, 0, 0), "b/x.png": (0, 255, 0), "x.jpg": (0, 0, 255)}
    for rel, colour in colours.items():
        (inputs / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32), colour).save(inputs / rel)
    results = tmp_path / "results"
    assert run_test(test_main, ck, results, inputs, "--model", "test", "--eval") == 0

    web = results / "btoa" / "test_latest"
    images = web / "images"
    for name, (rel, colour) in zip(("a/x", "b/x", "x"), colours.items()):
        real = rgb(images / f"{name}_real.png")
        assert np.abs(real - colour).max() <= 2, (rel, real.mean(axis=(0, 1)))
    fakes = [(images / f"{name}_fake.png").read_bytes() for name in ("a/x", "b/x", "x")]
    assert len(set(fakes)) == 3  # three different results, not one shown three times
    html = (web / "index.html").read_text()
    assert re.findall(r"<h3>(.*?)</h3>", html) == ["a/x", "b/x", "x"]
    assert 'src="images/a/x_fake.png"' in html and 'src="images/x_fake.png"' in html


# ------------------------------------------------------------------ --direction from the checkpoint


def halves(path: Path) -> tuple[np.ndarray, np.ndarray]:
    pair = rgb(path)
    return pair[:, :32], pair[:, 32:]


@pytest.mark.slow  # trains a tiny pix2pix once per module
def test_direction_is_recorded_and_a_btoa_model_runs_btoa_without_the_flag(
    btoa_run, test_main, tmp_path, capsys
):
    data, ck = btoa_run
    assert json.loads((ck / "btoa" / "architecture.json").read_text())["direction"] == "BtoA"

    assert run_test(test_main, ck, tmp_path / "implicit", data, "--model", "pix2pix", "--eval") == 0
    out = capsys.readouterr().out
    assert re.search(r"from the checkpoint's architecture\.json: .*--direction BtoA", out)
    implicit = tmp_path / "implicit" / "btoa" / "test_latest" / "images"
    a_half, b_half = halves(data / "test" / "0000.png")
    assert np.abs(rgb(implicit / "0000_real_A.png") - b_half).max() <= 1  # the model's input is the B side

    assert (
        run_test(
            test_main, ck, tmp_path / "explicit", data, "--model", "pix2pix", "--eval", "--direction", "BtoA"
        )
        == 0
    )
    explicit = tmp_path / "explicit" / "btoa" / "test_latest" / "images"
    for stem in ("0000", "0001", "0002"):
        assert (implicit / f"{stem}_fake_B.png").read_bytes() == (
            explicit / f"{stem}_fake_B.png"
        ).read_bytes()


@pytest.mark.slow  # trains a tiny pix2pix once per module
def test_an_explicit_direction_wins_and_says_so(btoa_run, test_main, tmp_path, capsys):
    data, ck = btoa_run
    assert run_test(test_main, ck, tmp_path / "r", data, "--model", "pix2pix", "--direction", "AtoB") == 0
    assert "note: --direction AtoB from the command line wins over the checkpoint's --direction BtoA" in (
        capsys.readouterr().out
    )
    a_half, _ = halves(data / "test" / "0000.png")
    real_a = rgb(tmp_path / "r" / "btoa" / "test_latest" / "images" / "0000_real_A.png")
    assert np.abs(real_a - a_half).max() <= 1


# ------------------------------------------------------------------ read-only and full folders


def test_checkpoint_on_a_read_only_mount_tests_and_keeps_the_options_with_the_results(
    btoa_run, test_main, tmp_path, read_only, capsys
):
    data, ck = btoa_run
    ro_ck = tmp_path / "ro_ck"
    shutil.copytree(ck / "btoa", ro_ck / "btoa")
    (ro_ck / "btoa" / "test_opt.txt").unlink(missing_ok=True)
    read_only(ro_ck / "btoa")
    results = tmp_path / "results"

    assert run_test(test_main, ro_ck, results, data, "--model", "pix2pix") == 0
    web = results / "btoa" / "test_latest"
    out, err = capsys.readouterr()
    assert err == ""
    assert f"read-only file system); options saved to {web / 'test_opt.txt'}" in out
    assert re.search(r"direction: BtoA\s+\[default: AtoB\]", (web / "test_opt.txt").read_text())
    assert len(list((web / "images").glob("*_fake_B.png"))) == 3
    assert not (ro_ck / "btoa" / "test_opt.txt").exists()


@pytest.mark.slow  # trains a tiny pix2pix once per module
def test_read_only_results_folder_is_one_clear_error(btoa_run, test_main, tmp_path, read_only, capsys):
    data, ck = btoa_run
    results = tmp_path / "results"
    results.mkdir()
    read_only(results)
    assert run_test(test_main, ck, results, data, "--model", "pix2pix") == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: cannot write results to {results / 'btoa' / 'test_latest'}: read-only file system; "
        "pass --results_dir with a writable folder that has free space\n"
    )


@pytest.mark.slow  # trains a tiny pix2pix once per module
def test_full_disk_is_one_clear_error(btoa_run, test_main, tmp_path, monkeypatch, capsys):
    data, ck = btoa_run

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "0000_real_A.png")

    monkeypatch.setattr("util.visualizer.save_image", disk_full)
    results = tmp_path / "results"
    assert run_test(test_main, ck, results, data, "--model", "pix2pix") == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: cannot write results to {results / 'btoa' / 'test_latest'}: no space left on device; "
        "pass --results_dir with a writable folder that has free space\n"
    )
