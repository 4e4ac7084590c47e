"""Critical-batch-size study: train at several batch sizes and seeds until a validation target, and compare.

    python scripts/batch_size_study.py --out results/bs_study --batch_sizes 1 2 4 8 16 --seeds 0 1 \\
        --target l1:0.12 --max_steps 400 --lr_scaling sqrt --ttur -- \\
        --dataroot datasets/data/facades_synth --model pix2pix --norm instance --ngf 8 --ndf 8 \\
        --load_size 32 --crop_size 32 --gpu_ids -1

Everything after `--` is train.py's flags (batch size, seed and learning rates are set per cell). One cell =
one (batch size, seed): a fresh model trained with the same loop as train.py (`model.train_step`) on full
batches only, evaluated on the `--val_phase` split every few optimizer steps, until the target is met or
`--max_steps` run out. Evaluating in-process on a geometric grid of steps (1, 2, ..., then every ~10%,
`--eval_growth`) gives "steps to target" to within 10% at every batch size for a logarithmic number of
validations, where per-epoch validation would be far coarser for the large batches.

Per cell: steps to target, images to target (SFO = batch x steps: the stochastic first-order oracle cost of
Sato & Iiduka 2023), wall time of the training steps, final scores, and the gradient noise scale B_simple
(McCandlish et al. 2018) of G and D measured along the way (--noise_scale, cells with an even batch >= 2).
Each finished cell is saved to OUT/cells/; a re-run skips those (resumable). Outputs OUT/study.csv,
OUT/study.json and OUT/study.png (steps and SFO against batch size on log axes, the critical batch marked).
docs/batch_size.md explains the method and holds a study.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data import create_dataset  # noqa: E402
from models import create_model  # noqa: E402
from models.noise_scale import BATCH_NORMS  # noqa: E402
from options import completed, parse_train_options  # noqa: E402
from scripts.study_plot import draw_study  # noqa: E402
from train import seed_everything  # noqa: E402
from util.cli import run_cli  # noqa: E402
from util.distributed import setup_runtime  # noqa: E402
from util.errors import UserError  # noqa: E402
from util.metrics import HIGHER_IS_BETTER, PAIRED, MetricSet, parse_metric_names, to_uint8  # noqa: E402

# Sato & Iiduka (2023): TTUR with D faster than G, Adam betas (0.5, 0.999).
TTUR = {"lr_D": 3e-4, "lr_G": 1e-4}
LR_SCALING = {"none": lambda r: 1.0, "linear": lambda r: r, "sqrt": math.sqrt}
NOISE_KEYS = ("noise_scale_G", "noise_scale_D")


# -- options ------------------------------------------------------------------------------------------------
def parse_target(text: str) -> tuple[str, float]:
    """ "fid:80" -> ("fid", 80.0); UserError naming --target otherwise."""
    name, sep, value = text.partition(":")
    try:
        threshold = float(value)
    except ValueError:
        threshold = math.nan
    if not sep or not math.isfinite(threshold):
        raise UserError(f"--target {text!r} is not METRIC:VALUE; e.g. --target l1:0.12 or --target fid:80")
    try:
        (metric,) = parse_metric_names(name)
    except UserError as err:
        raise UserError(f"--target {text!r}: {err}") from None
    return metric, threshold


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    own, train_argv = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", required=True, help="study folder (cells/, study.csv, study.json, study.png)"
    )
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--target", required=True, help="validation target METRIC:VALUE, e.g. l1:0.12, fid:80"
    )
    parser.add_argument("--metrics", default="", help="more validation metrics to record, e.g. psnr,ssim")
    parser.add_argument("--max_steps", type=int, default=1000, help="step budget per cell")
    parser.add_argument(
        "--eval_every", type=int, default=0, help="validate every N steps (0: geometric grid)"
    )
    parser.add_argument("--eval_growth", type=float, default=1.1, help="geometric grid: next = max(s+1, s*g)")
    parser.add_argument("--val_phase", default="val", help="split of --dataroot to validate on")
    parser.add_argument("--val_images", type=int, default=0, help="validate on the first N images (0: all)")
    parser.add_argument("--lr_scaling", choices=sorted(LR_SCALING), default="none",
                        help="learning rate x (batch / --base_batch) (linear) or its square root (sqrt)")  # fmt: skip
    parser.add_argument("--base_batch", type=int, default=1, help="batch size the learning rates are for")
    parser.add_argument("--ttur", action="store_true", help="lr_D 3e-4, lr_G 1e-4, betas (0.5, 0.999)")
    parser.add_argument("--max_micro_batch", type=int, default=0,
                        help="train larger batches as accumulated micro-batches of this size (0: real batches)")  # fmt: skip
    parser.add_argument("--no_noise_scale", action="store_true", help="do not measure B_simple in the cells")
    args = parser.parse_args(own)
    args.target_metric, args.target_value = parse_target(args.target)
    args.metric_names = list(
        dict.fromkeys([args.target_metric, *parse_metric_names(args.metrics or args.target_metric)])
    )
    bad = [b for b in args.batch_sizes if b < 1] + ([args.max_steps] if args.max_steps < 1 else [])
    if bad or args.eval_growth <= 1 or args.base_batch < 1:
        parser.error("--batch_sizes, --max_steps and --base_batch must be >= 1 and --eval_growth > 1")
    if args.max_micro_batch and any(
        b % args.max_micro_batch for b in args.batch_sizes if b > args.max_micro_batch
    ):
        parser.error("every batch size above --max_micro_batch must be a multiple of it")
    if not train_argv:
        parser.error("give train.py's flags after `--` (at least --dataroot)")
    return args, train_argv


# -- one cell -----------------------------------------------------------------------------------------------
def cell_plan(args, batch_size: int) -> dict:
    """Micro-batch size, accumulation steps and learning rates of one batch size."""
    micro = min(batch_size, args.max_micro_batch) if args.max_micro_batch else batch_size
    base = parse_train_options(args.train_argv)
    lr_G, lr_D = (TTUR["lr_G"], TTUR["lr_D"]) if args.ttur else (base.lr_G, base.lr_D)
    factor = LR_SCALING[args.lr_scaling](batch_size / args.base_batch)
    return {
        "micro_batch": micro,
        "accum_steps": batch_size // micro,
        "lr_G": lr_G * factor,
        "lr_D": lr_D * factor,
    }


def cell_argv(args, batch_size: int, seed: int, plan: dict, out_dir: str) -> list[str]:
    argv = [
        *args.train_argv,
        "--batch_size",
        str(plan["micro_batch"]),
        "--accum_steps",
        str(plan["accum_steps"]),
    ]
    argv += ["--seed", str(seed), "--lr_G", repr(plan["lr_G"]), "--lr_D", repr(plan["lr_D"])]
    argv += ["--checkpoints_dir", out_dir, "--name", f"bs{batch_size}_seed{seed}", "--display_id", "0"]
    if args.ttur:
        argv += ["--beta1", "0.5"]
    measure_noise = not args.no_noise_scale and (plan["accum_steps"] > 1 or batch_size % 2 == 0)
    # batch norm makes a batch's samples dependent: the noise scale is refused there (docs/batch_size.md)
    measure_noise = measure_noise and parse_train_options(args.train_argv).norm not in BATCH_NORMS
    return argv + (["--noise_scale"] if measure_noise else [])


def validation_set(argv: list[str], opt, args):
    """The --val_phase split, in order, unflipped, resized to the crop size (no random crop)."""
    val_argv = ["--phase", args.val_phase, "--serial_batches", "--no_flip", "--load_size", str(opt.crop_size)]
    val_opt = parse_train_options([*argv, *val_argv])
    if args.val_images:
        val_opt = completed(val_opt, max_dataset_size=args.val_images)
    with contextlib.redirect_stdout(io.StringIO()):
        return create_dataset(val_opt)


def validate(model, val_set, names: list[str], device) -> dict[str, float]:
    """Scores of G(A) against B on the validation split (eval mode: dropout off)."""
    metrics = MetricSet(names, device=device)
    model.eval()
    for batch in val_set:
        model.set_input(batch)
        model.test()
        metrics.update(to_uint8(model.fake_B), to_uint8(model.real_B))
    model.train()
    return {k: v for k, v in metrics.compute().items() if k != "n"}


def reached(scores: dict[str, float], metric: str, value: float) -> bool:
    return scores[metric] >= value if HIGHER_IS_BETTER[metric] else scores[metric] <= value


def step_groups(dataset, micro: int, accum: int):
    """Endless full batches of `micro` images (short epoch ends dropped), `accum` per optimizer step."""
    epoch, group = 1, []
    while True:
        dataset.set_epoch(epoch)
        for batch in dataset:
            if len(batch["A"]) == micro:
                group.append(batch)
                if len(group) == accum:
                    yield group
                    group = []
        epoch += 1


def eval_steps(args) -> set[int]:
    if args.eval_every:
        return set(range(args.eval_every, args.max_steps + 1, args.eval_every)) | {args.max_steps}
    steps, s = set(), 1
    while s <= args.max_steps:
        steps.add(s)
        s = max(s + 1, int(s * args.eval_growth))
    return steps | {args.max_steps}


def run_cell(args, batch_size: int, seed: int) -> dict:
    plan = cell_plan(args, batch_size)
    argv = cell_argv(args, batch_size, seed, plan, os.path.join(args.out, "runs"))
    opt = parse_train_options(argv)
    seed_everything(opt.seed)
    device = setup_runtime(opt.gpu_ids, opt.norm).device
    with contextlib.redirect_stdout(io.StringIO()):
        train_set = create_dataset(opt)
        model = create_model(opt, device)
        model.setup(opt)
    if len(train_set) < plan["micro_batch"]:
        raise UserError(f"--batch_sizes {batch_size}: the training set has {len(train_set)} images, fewer than one "
                        f"batch of {plan['micro_batch']}; use smaller batches or --max_micro_batch")  # fmt: skip
    val_set = validation_set(argv, opt, args)
    checkpoints, history, hit, train_s = eval_steps(args), [], None, 0.0
    groups = step_groups(train_set, plan["micro_batch"], plan["accum_steps"])
    for step in range(1, args.max_steps + 1):
        micro = next(groups)
        start = time.perf_counter()
        model.train_step(model.noise_scale.micro_batches(micro) if model.noise_scale else micro)
        train_s += time.perf_counter() - start
        if step in checkpoints:
            scores = validate(model, val_set, args.metric_names, device)
            history.append({"step": step, **scores})
            if reached(scores, args.target_metric, args.target_value):
                hit = step
                break
    noise = model.noise_scale.values() if model.noise_scale else dict.fromkeys(NOISE_KEYS, math.nan)
    return {
        "batch_size": batch_size, "seed": seed, **plan, "reached": hit is not None,
        "steps_to_target": hit, "images_to_target": None if hit is None else hit * batch_size,
        "steps_run": step, "train_wall_s": round(train_s, 3),
        **{f"final_{k}": v for k, v in history[-1].items() if k != "step"},
        **{k: noise.get(k, math.nan) for k in NOISE_KEYS}, "history": history,
    }  # fmt: skip


# -- the study ----------------------------------------------------------------------------------------------
def settings_of(args) -> dict:
    keys = ("target", "metrics", "max_steps", "eval_every", "eval_growth", "val_phase", "val_images",
            "lr_scaling", "base_batch", "ttur", "max_micro_batch", "no_noise_scale", "train_argv")  # fmt: skip
    return {k: getattr(args, k) for k in keys}


def preflight(args) -> None:
    """Everything that can fail before the first cell trains: the metrics, the dataset, the study folder.

    A study folder holds one experiment: a re-run with other settings would mix cells, so it is refused.
    """
    MetricSet(args.metric_names)  # unknown metric, or weights missing for fid / kid / lpips
    opt = parse_train_options(args.train_argv)
    paired = [n for n in args.metric_names if n in PAIRED]
    if paired and opt.dataset_mode != "aligned":
        raise UserError(f"--target/--metrics {','.join(paired)} compare G(A) with its paired B, which "
                        f"--dataset_mode {opt.dataset_mode} has not; use fid or kid")  # fmt: skip
    path = os.path.join(args.out, "settings.json")
    if os.path.isfile(path):
        with open(path) as f:
            theirs = json.load(f)
        mine = json.loads(json.dumps(settings_of(args)))
        changed = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        if changed:
            raise UserError(f"{args.out} holds a study with other settings ({', '.join(changed)}); "
                            "use another --out, or delete that folder to start over")  # fmt: skip


def save_cell(args, path: str, cell: dict) -> None:
    """The settings (first time) and the cell; a cell counts as finished only once its file is whole."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(os.path.join(args.out, "settings.json"), "w") as f:
        json.dump(settings_of(args), f, indent=2)
    with open(path + ".tmp", "w") as f:
        json.dump(cell, f, indent=2)
    os.replace(path + ".tmp", path)


def median_or_none(values: list) -> float | None:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else None


def summarize(cells: list[dict], batch_sizes: list[int]) -> dict:
    """Per batch size: median steps and SFO over seeds (only when every seed reached the target)."""
    rows = []
    for b in sorted(batch_sizes):
        mine = [c for c in cells if c["batch_size"] == b]
        all_hit = bool(mine) and all(c["reached"] for c in mine)
        rows.append({
            "batch_size": b, "seeds": len(mine), "reached": sum(c["reached"] for c in mine),
            "median_steps": median_or_none([c["steps_to_target"] for c in mine]) if all_hit else None,
            "median_sfo": median_or_none([c["images_to_target"] for c in mine]) if all_hit else None,
            "median_train_wall_s": median_or_none([c["train_wall_s"] for c in mine]),
            **{f"median_{k}": median_or_none([c[k] for c in mine]) for k in NOISE_KEYS},
        })  # fmt: skip
    done = [r for r in rows if r["median_sfo"] is not None]
    critical = min(done, key=lambda r: (r["median_sfo"], r["batch_size"]))["batch_size"] if done else None
    return {"per_batch": rows, "critical_batch_sfo": critical, "fitted": fit_steps_model(done),
            "noise_scale_G": median_or_none([c["noise_scale_G"] for c in cells]),
            "noise_scale_D": median_or_none([c["noise_scale_D"] for c in cells])}  # fmt: skip


def fit_steps_model(rows: list[dict]) -> dict | None:
    """Least squares of McCandlish's S = S_min (1 + B_crit / B) on the median steps: S = a + b / B, so
    S_min = a, E_min = b and B_crit = b / a. None with fewer than 2 batch sizes or a non-positive fit."""
    if len(rows) < 2:
        return None
    xs = [1.0 / r["batch_size"] for r in rows]
    ys = [float(r["median_steps"]) for r in rows]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    if a <= 0 or b <= 0:
        return {"S_min": a, "E_min": b, "B_crit": None}
    return {"S_min": a, "E_min": b, "B_crit": b / a}


CSV_SKIP = ("history",)


def write_outputs(args, cells: list[dict], summary: dict) -> None:
    columns = [k for k in cells[0] if k not in CSV_SKIP]
    for c in cells:
        columns += [k for k in c if k not in columns and k not in CSV_SKIP]
    with open(os.path.join(args.out, "study.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        for c in cells:
            writer.writerow({k: "" if c.get(k) is None else c.get(k) for k in columns})
    with open(os.path.join(args.out, "study.json"), "w") as f:
        json.dump({"settings": settings_of(args), "summary": summary, "cells": cells}, f, indent=2)
    draw_study(summary, cells, args.target).save(os.path.join(args.out, "study.png"))


def study(argv: list[str]) -> dict:
    args, args.train_argv = parse_args(argv)
    preflight(args)
    cells = []
    for b in args.batch_sizes:
        for seed in args.seeds:
            path = os.path.join(args.out, "cells", f"bs{b}_seed{seed}.json")
            if os.path.isfile(path):
                with open(path) as f:
                    cells.append(json.load(f))
                print(f"batch {b:>4} seed {seed}: done before, skipped")
                continue
            cell = run_cell(args, b, seed)
            save_cell(args, path, cell)
            cells.append(cell)
            steps = cell["steps_to_target"] if cell["reached"] else f">{cell['steps_run']}"
            print(f"batch {b:>4} seed {seed}: steps to target {steps}, {cell['train_wall_s']:.1f} s")
    summary = summarize(cells, args.batch_sizes)
    write_outputs(args, cells, summary)
    print(f"critical batch (least SFO): {summary['critical_batch_sfo']}; fit: {summary['fitted']}; "
          f"B_simple G {summary['noise_scale_G']}, D {summary['noise_scale_D']}")  # fmt: skip
    return summary


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: study(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
