"""evaluate.py on folders and on test.py result folders: JSON values, the index.html block, clear errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

import evaluate
from tests.helpers import run_script
from tests.test_metrics import TinyExtractor, skimage_scores, tiny_inception  # noqa: F401  (fixture)
from util.html import HTML


def random_image(rng: np.random.Generator, size: int = 32) -> np.ndarray:
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


def noisy(rng: np.random.Generator, image: np.ndarray, amount: int = 30) -> np.ndarray:
    return np.clip(image.astype(int) + rng.integers(-amount, amount + 1, image.shape), 0, 255).astype(
        np.uint8
    )


def write(folder, name: str, image: np.ndarray) -> str:
    path = os.path.join(folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def results_folder(tmp_path, labels_of_row, n: int = 4, seed: int = 0):
    """A test.py-like folder: images/{stem}_{label}.png and an index.html; returns (folder, {label: arrays})."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / "results" / "exp" / "test_latest"
    page = HTML(str(folder), "Experiment = exp")
    images: dict[str, list[np.ndarray]] = {}
    for i in range(n):
        stem = f"{i:04d}"
        row = labels_of_row(rng)
        page.add_header(stem)
        for label, image in row.items():
            write(page.get_image_dir(), f"{stem}_{label}.png", image)
            images.setdefault(label, []).append(image)
        page.add_images([f"{stem}_{k}.png" for k in row], list(row), [f"{stem}_{k}.png" for k in row])
    page.save()
    return folder, images


def pix2pix_row(rng):
    real_b = random_image(rng)
    return {"real_A": random_image(rng), "fake_B": noisy(rng, real_b), "real_B": real_b}


def cyclegan_row(rng):
    return {name: random_image(rng) for name in ("real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B")}


def as_batch(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)


def run(argv, capsys) -> tuple[int, str, str]:
    code = evaluate.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_pix2pix_results_paired_scores_in_json_and_index(tmp_path, capsys):
    folder, images = results_folder(tmp_path, pix2pix_row)
    out_json = tmp_path / "scores.json"
    argv = ["--results_dir", folder, "--metrics", "l1,psnr,ssim", "--json", out_json]
    code, out, _ = run(argv, capsys)
    assert code == 0
    want = skimage_scores(as_batch(images["fake_B"]), as_batch(images["real_B"]))
    got = json.loads(out_json.read_text())
    assert list(got) == ["fake_B"]
    assert got["fake_B"]["n"] == 4
    for name in ("l1", "psnr", "ssim"):
        assert got["fake_B"][name] == pytest.approx(float(np.mean(want[name])), abs=1e-6)
    assert "fake_B" in out and f"{np.mean(want['psnr']):.2f}" in out  # the terminal table
    page = (folder / "index.html").read_text()
    assert page.count(evaluate.HTML_BEGIN) == 1 and f"{np.mean(want['ssim']):.4f}" in page
    assert run(argv, capsys)[0] == 0  # a second run replaces the block
    assert (folder / "index.html").read_text().count(evaluate.HTML_BEGIN) == 1


def test_cyclegan_results_distribution_per_direction_and_gt_dir(tmp_path, capsys, tiny_inception):  # noqa: F811
    folder, images = results_folder(tmp_path, cyclegan_row, n=5)
    rng = np.random.default_rng(1)
    gt = tmp_path / "shapes" / "testA_gt"  # true A for each tested B, named like the rows
    gt_images = [noisy(rng, f) for f in images["fake_A"]]
    for i, image in enumerate(gt_images):
        write(gt, f"{i:04d}.png", image)
    out_json = tmp_path / "s.json"
    code, out, err = run(["--results_dir", folder, "--gt_dir", gt, "--json", out_json], capsys)
    assert code == 0, err
    got = json.loads(out_json.read_text())
    assert list(got) == ["fake_A", "fake_B", "fake_A vs testA_gt"]
    # CycleGAN rows are not pairs: fid/kid only, fake_B (from A) against every real_B.
    assert set(got["fake_B"]) == {"fid", "kid", "kid_std", "n"}
    with torch.no_grad():
        fake_b = TinyExtractor()(as_batch(images["fake_B"]))[0].double()
        real_b = TinyExtractor()(as_batch(images["real_B"]))[0].double()
    from util.metrics import frechet_distance

    assert got["fake_B"]["fid"] == pytest.approx(frechet_distance(fake_b, real_b), rel=1e-6)
    want = skimage_scores(as_batch(images["fake_A"]), as_batch(gt_images))
    assert got["fake_A vs testA_gt"]["n"] == 5
    assert got["fake_A vs testA_gt"]["ssim"] == pytest.approx(float(np.mean(want["ssim"])), abs=1e-6)
    assert "note: skipping lpips" in out  # default metrics: lpips has no weights here, the rest runs


def test_folders_paired_by_relative_name(tmp_path, capsys):
    rng = np.random.default_rng(2)
    reals = {f"sub/{i}.png": random_image(rng) for i in range(3)}
    for name, image in reals.items():
        write(tmp_path / "real", name, image)
        write(tmp_path / "fake", name.replace(".png", ".bmp"), noisy(rng, image))  # extension may differ
    out_json = tmp_path / "s.json"
    argv = ["--fake", tmp_path / "fake", "--real", tmp_path / "real", "--paired", "--metrics", "psnr,l1"]
    assert run([*argv, "--json", out_json], capsys)[0] == 0
    got = json.loads(out_json.read_text())
    fakes = [np.array(Image.open(tmp_path / "fake" / n.replace(".png", ".bmp"))) for n in sorted(reals)]
    want = skimage_scores(as_batch(fakes), as_batch([reals[n] for n in sorted(reals)]))
    assert got == {
        "psnr": pytest.approx(float(np.mean(want["psnr"]))),
        "l1": pytest.approx(np.mean(want["l1"])),
        "n": 3,
    }


def test_identical_folders_write_strict_json(tmp_path, capsys):
    rng = np.random.default_rng(3)
    for i in range(2):
        image = random_image(rng)
        write(tmp_path / "a", f"{i}.png", image)
        write(tmp_path / "b", f"{i}.png", image)
    out_json = tmp_path / "s.json"
    argv = ["--fake", tmp_path / "a", "--real", tmp_path / "b", "--paired", "--metrics", "psnr,ssim"]
    assert run([*argv, "--json", out_json], capsys)[0] == 0
    assert json.loads(out_json.read_text()) == {"psnr": None, "ssim": pytest.approx(1.0), "n": 2}


def make_error_cases(tmp_path):
    rng = np.random.default_rng(4)
    for i in range(2):
        write(tmp_path / "real", f"{i}.png", random_image(rng))
        write(tmp_path / "fake", f"{i}.png", random_image(rng))
    write(tmp_path / "other", "x.png", random_image(rng))
    write(tmp_path / "big", "0.png", random_image(rng, 48))
    write(tmp_path / "big", "1.png", random_image(rng, 48))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    (tmp_path / "noresults").mkdir()


ERROR_CASES = {
    "not a folder": (["--fake", "{t}/missing", "--real", "{t}/real"], "--fake {t}/missing: not a folder"),
    "empty folder": (["--fake", "{t}/empty", "--real", "{t}/real"], "--fake {t}/empty: no images found"),
    "unmatched": (
        ["--fake", "{t}/other", "--real", "{t}/real", "--paired", "--metrics", "l1"],
        "--paired: 1 fake image(s) without a real one of the same name (e.g. x)",
    ),
    "size mismatch": (
        ["--fake", "{t}/big", "--real", "{t}/real", "--paired", "--metrics", "l1"],
        "fake vs real: {t}/big/0.png is 48x48 but {t}/real/0.png is 32x32; paired metrics need equal sizes",
    ),
    "unknown metric": (
        ["--fake", "{t}/fake", "--real", "{t}/real", "--metrics", "psnr,fdi"],
        "unknown metric fdi",
    ),
    "paired metric unpaired": (
        ["--fake", "{t}/fake", "--real", "{t}/real", "--metrics", "ssim"],
        "--metrics ssim compare fake[i] with real[i]: add --paired",
    ),
    "both modes": (["--fake", "{t}/fake", "--real", "{t}/real", "--results_dir", "{t}"], "give either"),
    "no images dir": (["--results_dir", "{t}/noresults"], "--results_dir {t}/noresults: no images/ folder"),
    "missing weights": (
        ["--fake", "{t}/fake", "--real", "{t}/real", "--metrics", "fid", "--inception_weights", "{t}/no.pth"],
        "--inception_weights {t}/no.pth: no such file; fid cannot run without it",
    ),
    "bad device": (
        ["--fake", "{t}/fake", "--real", "{t}/real", "--device", "gpu7"],
        "--device gpu7: not a device",
    ),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_bad_input_is_one_clear_line(tmp_path, capsys, case):
    make_error_cases(tmp_path)
    argv, message = ERROR_CASES[case]
    code, _, err = run([a.format(t=tmp_path) for a in argv], capsys)
    assert code == 2
    assert err.startswith("error: " + message.format(t=tmp_path)), err
    assert err.count("\n") == 1


def test_gt_dir_needs_a_label_when_ambiguous(tmp_path, capsys):
    folder, _ = results_folder(tmp_path, cyclegan_row, n=2)
    write(tmp_path / "truth", "0000.png", random_image(np.random.default_rng(0)))
    code, _, err = run(["--results_dir", folder, "--gt_dir", tmp_path / "truth"], capsys)
    assert code == 2 and f"write --gt_dir fake_A={tmp_path / 'truth'}" in err


@pytest.mark.slow
def test_command_line_prints_table_and_exit_codes(tmp_path):
    folder, _ = results_folder(tmp_path, pix2pix_row, n=2)
    ok = run_script(["evaluate.py", "--results_dir", str(folder), "--metrics", "psnr,l1", "--no_progress"])
    assert ok.returncode == 0, ok.stderr
    header = ok.stdout.splitlines()[0].split()
    assert header == ["l1", "psnr", "n"]
    bad = run_script(["evaluate.py", "--fake", str(tmp_path / "nope"), "--real", str(folder)])
    assert bad.returncode == 2 and bad.stderr.startswith("error: --fake") and "Traceback" not in bad.stderr


def test_default_metrics_skip_missing_weights_but_not_everything(tmp_path, capsys, monkeypatch):
    from util import metric_weights
    from util.errors import UserError

    def offline(path, url, flag, metrics, still_run):
        raise UserError(f"{metrics}: weights missing")

    monkeypatch.setattr(metric_weights, "resolve_weights", offline)
    paired, _ = results_folder(tmp_path / "p", pix2pix_row, n=2)
    code, out, _ = run(["--results_dir", paired, "--json", tmp_path / "s.json"], capsys)
    assert code == 0 and "note: skipping fid, kid" in out and "note: skipping lpips" in out
    assert set(json.loads((tmp_path / "s.json").read_text())["fake_B"]) == {"l1", "psnr", "ssim", "n"}
    unpaired, _ = results_folder(tmp_path / "u", cyclegan_row, n=2)
    code, _, err = run(["--results_dir", unpaired], capsys)
    assert code == 2 and err.startswith("error: no metric can run")
