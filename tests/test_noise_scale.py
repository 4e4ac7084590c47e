"""--noise_scale: the two-batch estimator of McCandlish et al. 2018 against a problem whose answer is known,
its wiring into a model's train_step, and (slow) the DDP estimate against the single-process one."""

from __future__ import annotations

import math
import os

import pytest
import torch
from torch import nn

from models import create_model
from models.noise_scale import NoiseScale, NoiseScaleMonitor, split_batch, two_batch_estimates
from tests.helpers import ROOT, random_batch, run_script, tiny_train_options
from util.errors import UserError

# Linear regression y = x·w* + ε, x ~ N(0, I_d), ε ~ N(0, σ²), loss ½(x·w − y)², evaluated at w = w* + Δ.
# Per-sample gradient g = x xᵀΔ − x ε, so G = E[g] = Δ and (Gaussian fourth moments)
# Σ = ΔΔᵀ + (|Δ|² + σ²)·I, hence tr Σ = (d + 1)|Δ|² + d σ² and B_simple = tr Σ / |G|².
DIM, SIGMA = 8, 1.0


def true_noise_scale(delta: torch.Tensor) -> float:
    d2 = float(delta.pow(2).sum())
    return ((DIM + 1) * d2 + DIM * SIGMA**2) / d2


def regression_batch(gen: torch.Generator, w_star: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, DIM, generator=gen, dtype=torch.float64)
    return x, x @ w_star + SIGMA * torch.randn(n, generator=gen, dtype=torch.float64)


def test_two_batch_formulas_recover_gradient_and_trace_exactly_in_expectation():
    # E|g_B|² = |G|² + tr Σ / B: feed the exact expectations, get |G|² and tr Σ back.
    true_sq, trace = 2.0, 30.0
    est_sq, est_trace = two_batch_estimates(true_sq + trace / 4, true_sq + trace / 16, 4, 16)
    assert est_sq == pytest.approx(true_sq) and est_trace == pytest.approx(trace)
    with pytest.raises(ValueError):
        two_batch_estimates(1.0, 1.0, 8, 8)


def test_ema_ratio_starts_nan_and_ignores_overflowed_steps():
    est = NoiseScale(decay=0.5)
    assert math.isnan(est.value)
    est.update(math.inf, 1.0, 1, 2)  # an fp16 overflow: not counted
    assert est.count == 0
    est.update(2.0 + 30.0 / 4, 2.0 + 30.0 / 16, 4, 16)
    assert est.value == pytest.approx(15.0)  # the zero-start bias cancels in the ratio


def test_monitor_under_accumulation_matches_the_known_noise_scale():
    """The monitor, fed by accumulated micro-batch backward passes as BaseModel does, lands within 10%."""
    gen = torch.Generator().manual_seed(0)
    w_star = torch.randn(DIM, generator=gen, dtype=torch.float64)
    delta = torch.full((DIM,), 0.5, dtype=torch.float64)
    net = nn.Linear(DIM, 1, bias=False).double()
    with torch.no_grad():
        net.weight.copy_((w_star + delta)[None])
    optimizer = torch.optim.SGD(net.parameters(), lr=0.0)  # w stays put: the truth stays known
    micro, k = 4, 4
    monitor = NoiseScaleMonitor({"G": optimizer}, {"G": net}, batch_size=micro, accum_steps=k, decay=0.998)
    for _ in range(1200):
        optimizer.zero_grad()
        for _ in range(k):
            x, y = regression_batch(gen, w_star, micro)
            loss = 0.5 * (net(x).squeeze(1) - y).pow(2).mean()
            (loss / k).backward()  # BaseModel.backward's 1/K scale
            monitor.after_backward("G")
        monitor.before_step("G")
        optimizer.step()
    expected = true_noise_scale(delta)  # (9·2 + 8) / 2 = 13
    assert monitor.values()["noise_scale_G"] == pytest.approx(expected, rel=0.1)


def test_split_batch_halves_tensors_and_paths_and_keeps_odd_batches_whole():
    batch = {"A": torch.arange(4)[:, None], "A_paths": ["a", "b", "c", "d"]}
    first, second = split_batch(batch)
    assert first["A"].flatten().tolist() == [0, 1] and second["A_paths"] == ["c", "d"]
    odd = {"A": torch.arange(3)[:, None], "A_paths": ["a", "b", "c"]}
    assert split_batch(odd) == [odd]


INSTANCE = ["--norm", "instance", "--no_dropout", "--pool_size", "0"]


def build(tmp_path, *extra):
    torch.manual_seed(0)
    opt = tiny_train_options(tmp_path, "pix2pix", *INSTANCE, *extra)
    model = create_model(opt)
    model.setup(opt)
    return opt, model


def test_split_batch_step_equals_the_whole_batch_step_and_logs_both_noise_scales(tmp_path):
    opt, plain = build(tmp_path, "--batch_size", "4")
    batch = random_batch(opt, seed=1, batch_size=4)
    plain.train_step([batch])
    _, measured = build(tmp_path, "--batch_size", "4", "--noise_scale")
    for _ in range(3):
        measured.train_step(measured.noise_scale.micro_batches([batch]))
        if _ == 0:
            for name, value in plain.get_current_losses().items():
                assert measured.get_current_losses()[name] == pytest.approx(value, rel=1e-4, abs=1e-6)
    losses = measured.get_current_losses()
    assert list(losses) == plain.loss_names + ["noise_scale_G", "noise_scale_D"]
    # D's |G|² estimate may still be <= 0 this early (noise dominates): B_simple is then reported as inf
    assert losses["noise_scale_G"] > 1 and math.isfinite(losses["noise_scale_G"]), losses
    assert not math.isnan(losses["noise_scale_D"]), losses
    assert measured.noise_scale.estimates["G"].count == 3
    # off by default: the reference's loss names only
    assert plain.noise_scale is None and list(plain.get_current_losses()) == plain.loss_names


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--norm", "batch", "--batch_size", "4"], "--norm batch breaks"),
        (["--norm", "instance", "--batch_size", "1"], "compares gradients at two batch sizes"),
        (["--norm", "instance", "--batch_size", "3"], "use an even --batch_size"),
    ],
)
def test_noise_scale_refuses_what_it_cannot_measure(tmp_path, flags, message):
    torch.manual_seed(0)
    opt = tiny_train_options(tmp_path, "pix2pix", "--noise_scale", *flags)
    model = create_model(opt)
    with pytest.raises(UserError, match=message):
        model.setup(opt)


@pytest.mark.slow
def test_ddp_estimate_equals_the_single_process_estimate_from_the_same_micro_batches(tmp_path):
    """torchrun, 2 CPU processes (gloo), each with its own batch of 2, against one process accumulating the
    same two batches: per-process vs all-reduced gradients give the same numbers as micro vs mean."""
    probe = os.path.join(ROOT, "tests", "noise_scale_probe.py")
    env = {"OMP_NUM_THREADS": "1"}
    single = run_script([probe, str(tmp_path / "single"), str(tmp_path / "d1")], env=env, timeout=180)
    assert single.returncode == 0, single.stderr[-3000:]
    torchrun = ["-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=0", "--standalone"]
    ddp = run_script([*torchrun, probe, str(tmp_path / "ddp"), str(tmp_path / "d2")], env=env, timeout=180)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    expected = torch.load(tmp_path / "single" / "rank0.pt", weights_only=True)
    for rank in (0, 1):
        got = torch.load(tmp_path / "ddp" / f"rank{rank}.pt", weights_only=True)
        assert got.keys() == expected.keys() and len(got["history"]) == 3
        for step_got, step_expected in zip(got["history"], expected["history"]):
            assert set(step_expected) == {"G_ema_true_sq", "G_ema_trace", "D_ema_true_sq", "D_ema_trace"}
            for key, value in step_expected.items():
                assert math.isfinite(value) and value != 0
                assert step_got[key] == pytest.approx(value, rel=1e-3, abs=1e-7), (rank, key)


@pytest.mark.slow
def test_train_py_logs_noise_scales_after_the_losses_and_counts_images_once(tmp_path):
    """train.py --noise_scale --batch_size 2: each batch trains as two halves, yet the loss log counts the
    images once and shows noise_scale_G / noise_scale_D after the reference's loss names."""
    from data.builtin import make_paired_dataset

    root = make_paired_dataset(str(tmp_path / "facades"), n_train=8, n_val=0, n_test=0, size=32)
    args = ["train.py", "--dataroot", root, "--name", "ns", "--checkpoints_dir", str(tmp_path / "ck")]
    args += [
        "--model",
        "pix2pix",
        "--norm",
        "instance",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--netG",
        "resnet_6blocks",
    ]
    args += ["--load_size", "32", "--crop_size", "32", "--n_epochs", "1", "--n_epochs_decay", "0"]
    args += [
        "--batch_size",
        "2",
        "--print_freq",
        "4",
        "--display_id",
        "0",
        "--num_threads",
        "0",
        "--noise_scale",
    ]
    done = run_script(args, env={"OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [
        ln for ln in (tmp_path / "ck" / "ns" / "loss_log.txt").read_text().splitlines() if ln[:6] == "(epoch"
    ]
    assert [ln.split(")")[0] for ln in lines] == [
        f"(epoch: 1, iters: {i}, time: {ln.split('time: ')[1].split(',')[0]}, data: {ln.split('data: ')[1].split(')')[0]}"
        for i, ln in zip((4, 8), lines)
    ]
    names = [tok[:-1] for tok in lines[-1].split(") ")[1].split() if tok.endswith(":")]
    assert names == ["G_GAN", "G_L1", "D_real", "D_fake", "noise_scale_G", "noise_scale_D"]
