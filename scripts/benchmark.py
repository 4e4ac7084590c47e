"""Training speed and memory of pix2pix and CycleGAN: images/s, step time and peak memory per batch size.

    python scripts/benchmark.py --model pix2pix --size 256 --batch_size 1            # the reference's defaults
    python scripts/benchmark.py --model cycle_gan --batch_size 1 4 8 --grad_checkpoint --json out.json
    python scripts/benchmark.py --model cycle_gan --device cuda --amp bf16 --channels_last --compile

One row per batch size. Each row runs in a fresh Python process (so memory figures start clean), builds the
model exactly as train.py does (create_model + setup, the flags below passed as training options), and times
`model.train_step([batch])` -- one optimizer step of G and D -- on one random batch kept on the device, so
data loading is left out (scripts/benchmark_loader.py measures that). The first --warmup steps are not timed;
the next --repeats steps are timed one by one (CUDA synchronised before and after each) and summarised as
median, min, max and inter-quartile range. images/s = batch size / median step time.

Memory, in MB: model_mem_mb (weights, buffers, batch), train_mem_mb (the most a step adds: activations,
gradients, optimizer state; cpu: profiler allocation events over the first two warm-up steps, cuda:
max_memory_allocated), peak_mem_mb = model + train, process_peak_mb (cpu: VmHWM, cuda: max_memory_reserved).
docs/performance.md explains them and holds the figures.

--baseline times a plain eager loop instead -- the reference's optimize_parameters() written out with its own
Adam optimizers -- on the same networks, to check that train_step costs nothing over it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from models import create_model  # noqa: E402
from options import parse_train_options  # noqa: E402
from scripts.benchmark_baseline import (  # noqa: E402, F401  (re-exported: the names this script always had)
    EAGER_STEPS,
    cycle_gan_eager_step,
    pix2pix_eager_step,
)
from scripts.benchmark_memory import (  # noqa: E402, F401  (re-exported)
    MB,
    MEMORY,
    MEMORY_STEPS,
    CpuMemory,
    CudaMemory,
    profiled_peak_mb,
    tensor_mb,
)

DEVICES = ("cpu", "cuda")
SPEED_SWITCHES = (
    "channels_last",
    "compile",
    "grad_checkpoint",
    "fused_adam",
)  # train.py flags passed through when set


def train_argv(cfg: dict, checkpoints_dir: str) -> list[str]:
    """The training options of one benchmark row, as train.py would receive them."""
    size = str(cfg["size"])
    argv = ["--dataroot", checkpoints_dir, "--checkpoints_dir", checkpoints_dir, "--name", "benchmark"]
    argv += ["--model", cfg["model"], "--ngf", str(cfg["ngf"]), "--ndf", str(cfg["ndf"])]
    argv += ["--batch_size", str(cfg["batch_size"]), "--load_size", size, "--crop_size", size]
    argv += ["--amp", cfg["amp"], "--gpu_ids", "0" if cfg["device"] == "cuda" else "-1"]
    argv += ["--display_id", "0", "--num_threads", "0"]
    argv += [f"--{flag}" for flag in SPEED_SWITCHES if cfg[flag]]
    for flag in ("netG", "norm"):
        if cfg[flag]:
            argv += [f"--{flag}", cfg[flag]]
    return argv


def build(cfg: dict, checkpoints_dir: str):
    """(model, one random batch in [-1, 1]) for a row; seeded so every run sees the same weights and data."""
    opt = parse_train_options(train_argv(cfg, checkpoints_dir))
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):  # "model [..] was created"
        model = create_model(opt, torch.device(cfg["device"]))
        model.setup(opt)
    b, s = cfg["batch_size"], cfg["size"]
    batch = {
        # on the device and in its memory format already, so train_step's set_input copies nothing
        "A": model.to_device(torch.rand(b, opt.input_nc, s, s) * 2 - 1),
        "B": model.to_device(torch.rand(b, opt.output_nc, s, s) * 2 - 1),
        "A_paths": [f"a{i}.png" for i in range(b)],
        "B_paths": [f"b{i}.png" for i in range(b)],
    }
    model.set_input(batch)  # the eager baseline reads model.real_A / real_B
    return model, batch


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure(cfg: dict) -> dict:
    """Time and memory of one row, in this process."""
    device = cfg["device"]
    with tempfile.TemporaryDirectory() as tmp:
        model, batch = build(cfg, tmp)
    step = EAGER_STEPS[cfg["model"]](model) if cfg["baseline"] else lambda: model.train_step([batch])
    memory = MEMORY[device]()
    memory.first_steps(step, MEMORY_STEPS)  # the first warm-up steps
    for _ in range(cfg["warmup"] - MEMORY_STEPS):
        step()
    if cfg["repeats"]:
        memory.start_timed_steps()
    times = []
    for _ in range(cfg["repeats"]):
        _sync(device)
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    model_mb, train_mb = tensor_mb(model, batch), memory.train_mb()
    return {
        **cfg,
        "netG": model.net_config.netG,
        "norm": model.net_config.norm,
        **summarize(times, cfg["batch_size"]),
        "model_mem_mb": round(model_mb, 1),
        "train_mem_mb": round(train_mb, 1),
        "peak_mem_mb": round(model_mb + train_mb, 1),
        "process_peak_mb": round(memory.process_peak_mb(), 1),
        "memory_method": memory.method,
    }


def summarize(times: list[float], batch_size: int) -> dict:
    if not times:  # --repeats 0: memory only
        return dict.fromkeys(summarize([1.0], batch_size))
    q1, median, q3 = np.percentile(times, [25, 50, 75])
    return {
        "step_times_s": [round(t, 4) for t in times],
        "step_time_median_s": round(float(median), 4),
        "step_time_min_s": round(min(times), 4),
        "step_time_max_s": round(max(times), 4),
        "step_time_iqr_s": round(float(q3 - q1), 4),
        "images_per_s": round(batch_size / float(median), 3),
    }


def measure_in_subprocess(cfg: dict, threads: int | None) -> dict:
    """Run `measure(cfg)` in a fresh interpreter, so its memory high-water mark is its own."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "row.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(cfg), "--worker_out", out]
        cmd += ["--threads", str(threads)] if threads else []
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.isfile(out):
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return {**cfg, "error": f"exit {proc.returncode}: {tail[0]}"}
        with open(out) as f:
            return json.load(f)


# -- environment and report ---------------------------------------------------------------------------------
def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment(device: str, threads: int | None) -> dict:
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device,
        "device_name": device_name(device),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads or torch.get_num_threads(),
        "cuda": torch.version.cuda if device == "cuda" else None,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


COLUMNS = [  # (header, row key, format)
    ("model", "model", "{}"),
    ("netG", "netG", "{}"),
    ("size", "size", "{}"),
    ("batch", "batch_size", "{}"),
    ("step", "step", "{}"),
    ("median s", "step_time_median_s", "{:.3f}"),
    ("min s", "step_time_min_s", "{:.3f}"),
    ("max s", "step_time_max_s", "{:.3f}"),
    ("img/s", "images_per_s", "{:.2f}"),
    ("model MB", "model_mem_mb", "{:.0f}"),
    ("train MB", "train_mem_mb", "{:.0f}"),
    ("process MB", "process_peak_mb", "{:.0f}"),
]


def table(rows: list[dict]) -> str:
    """The measured rows aligned in columns, then one line per row that failed."""
    lines = [[header for header, _, _ in COLUMNS]]
    for row in rows:
        if "error" not in row:
            lines.append(["-" if row[key] is None else fmt.format(row[key]) for _, key, fmt in COLUMNS])
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    text = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in lines]
    text += [f"batch {row['batch_size']} failed: {row['error']}" for row in rows if "error" in row]
    return "\n".join(text)


def flags_text(cfg: dict) -> str:
    switches = "".join(f" --{flag}" for flag in SPEED_SWITCHES if cfg[flag])
    return f"--amp {cfg['amp']}{switches}" + (
        " --baseline (the reference's eager step)" if cfg["baseline"] else ""
    )


# -- command line -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--model", default="pix2pix", choices=sorted(EAGER_STEPS))
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (--crop_size)")
    parser.add_argument("--batch_size", type=int, nargs="+", default=[1], help="one table row per value")
    parser.add_argument("--amp", default="none", choices=("none", "bf16", "fp16"))
    parser.add_argument("--channels_last", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--grad_checkpoint", action="store_true")
    parser.add_argument("--fused_adam", action="store_true")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=DEVICES)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps before the timed ones (>= 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps (0: memory only)")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--ndf", type=int, default=64)
    parser.add_argument("--netG", help="generator (default: the model's, unet_256 / resnet_9blocks)")
    parser.add_argument("--norm", help="normalization (default: the model's, batch / instance)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--baseline", action="store_true", help="time the reference's eager step instead")
    parser.add_argument("--in_process", action="store_true", help="no fresh process per row (for tests)")
    parser.add_argument("--json", help="also write environment, settings and rows to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one row's settings, as JSON (internal)
    parser.add_argument("--worker_out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline and args.amp != "none":
        parser.error("--baseline is the reference's fp32 step; drop --amp")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch sees no GPU; use --device cpu")
    if args.warmup < MEMORY_STEPS or args.repeats < 0:
        parser.error(
            f"--warmup must be at least {MEMORY_STEPS} (memory is read there) and --repeats at least 0"
        )
    return args


def row_settings(args: argparse.Namespace, batch_size: int) -> dict:
    keys = ("model", "size", "amp", "device", "warmup", "repeats", "ngf", "ndf", "netG", "norm", "baseline")
    cfg = {key: getattr(args, key) for key in keys + SPEED_SWITCHES}
    return {**cfg, "batch_size": batch_size, "step": "eager" if args.baseline else "train_step"}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads and (args.worker or args.in_process):  # else only the fresh processes take it
        torch.set_num_threads(args.threads)
    if args.worker:
        with open(args.worker_out, "w") as f:
            json.dump(measure(json.loads(args.worker)), f)
        return {}
    env = environment(args.device, args.threads)
    rows = []
    for batch_size in args.batch_size:
        cfg = row_settings(args, batch_size)
        rows.append(measure(cfg) if args.in_process else measure_in_subprocess(cfg, args.threads))
    env["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    settings = {k: v for k, v in vars(args).items() if not k.startswith("worker")}
    report = {"environment": env, "settings": settings, "results": rows}
    print(f"{env['device_name']} ({args.device}, {env['torch_threads']} threads), torch {env['torch']}")
    print(f"{flags_text(rows[0])}; warm-up {args.warmup}, {args.repeats} timed steps")
    print(table(rows))
    print(f"load average {env['load_average_start']} -> {env['load_average_end']}")
    print(f"memory: {MEMORY[args.device].method}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
