"""Score generated images: l1, psnr, ssim, lpips (paired) and fid, kid (distributions). See docs/evaluation.md.

    python evaluate.py --fake DIR --real DIR [--paired] [--metrics l1,psnr,ssim,lpips,fid,kid] [--json OUT]
    python evaluate.py --results_dir results/NAME/test_latest [--gt_dir DIR] [--json OUT]

With --results_dir every fake_X is scored against its real_X (paired for pix2pix-like models, fid/kid only for
CycleGAN), each --gt_dir against the fakes of the same names, and the scores are added to its index.html.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import sys

import torch

from util import metric_weights
from util.cli import run_cli
from util.errors import UserError
from util.evaluation import Group, folder_group, results_groups, score_group
from util.metrics import DISTRIBUTION, METRIC_NAMES, PAIRED, MetricSet, parse_metric_names

HTML_BEGIN, HTML_END = "<!-- evaluate.py scores -->", "<!-- /evaluate.py scores -->"
DIGITS = {"l1": 4, "psnr": 2, "ssim": 4, "lpips": 4, "fid": 2, "kid": 4, "kid_std": 4}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fake", help="folder of generated images")
    p.add_argument("--real", help="folder of real images")
    p.add_argument("--paired", action="store_true", help="match --fake and --real by relative file name")
    p.add_argument("--results_dir", help="a test.py result folder (results/NAME/test_latest)")
    p.add_argument(
        "--gt_dir",
        action="append",
        default=[],
        help="[LABEL=]DIR of true outputs named like the test inputs (e.g. testA_gt scores fake_A); repeatable",
    )
    p.add_argument(
        "--metrics",
        help=f"comma-separated, from {','.join(METRIC_NAMES)} (default: all that apply; learned metrics whose "
        "weights are missing are skipped with a note)",
    )
    p.add_argument("--json", help="write the scores here as JSON")
    p.add_argument("--inception_weights", help="torch-fidelity Inception weights file for fid/kid (offline)")
    p.add_argument("--lpips_weights", help="torchvision AlexNet weights file for lpips (offline)")
    p.add_argument("--batch_size", type=int, default=16, help="images per forward pass")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    return p


def check_args(args: argparse.Namespace) -> None:
    folders = args.fake is not None or args.real is not None
    if folders == (args.results_dir is not None):
        raise UserError("give either --fake DIR --real DIR or --results_dir DIR")
    if folders and (args.fake is None or args.real is None):
        raise UserError("--fake and --real go together; give both folders")
    if args.gt_dir and not args.results_dir:
        raise UserError("--gt_dir scores a --results_dir; with --fake/--real use --real DIR --paired")
    if args.batch_size < 1:
        raise UserError(f"--batch_size {args.batch_size}: give 1 or more")


def pick_device(text: str) -> torch.device:
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError:
        raise UserError(f"--device {text}: not a device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {text}: CUDA is not available here; use --device cpu")
    return device


def metrics_for(group: Group, requested: list[str] | None) -> list[str]:
    """The metrics that apply to `group`: paired ones only when it is paired."""
    names = list(METRIC_NAMES) if requested is None else requested
    return [n for n in names if group.paired or n not in PAIRED]


def usable_weights(names: list[str], explicit: bool, args: argparse.Namespace) -> tuple[list[str], dict]:
    """Resolve each learned metric's weights once. A missing file is an error for metrics the user asked
    for, and a skipped metric (with a note) for the default list."""
    paths: dict[str, str] = {}
    needs = {
        "inception_weights": ([n for n in names if n in DISTRIBUTION], metric_weights.INCEPTION_URL),
        "lpips_weights": ([n for n in names if n == "lpips"], metric_weights.ALEXNET_URL),
    }
    for key, (needing, url) in needs.items():
        if not needing:
            continue
        others = [n for n in names if n not in needing]
        try:
            paths[key] = metric_weights.resolve_weights(
                getattr(args, key), url, f"--{key}", " and ".join(needing), others
            )
        except UserError as err:
            if explicit or getattr(args, key) is not None:
                raise
            reason = str(err).removeprefix(f"{' and '.join(needing)}: ")
            print(f"note: skipping {', '.join(needing)}: {reason}")
            names = others
    return names, paths


def evaluate(argv: list[str]) -> dict:
    args = build_parser().parse_args(argv)
    check_args(args)
    requested = parse_metric_names(args.metrics) if args.metrics else None
    if args.results_dir:
        groups = results_groups(args.results_dir, args.gt_dir)
    else:
        groups = [folder_group(args.fake, args.real, args.paired)]
        if requested and not args.paired and set(requested) & PAIRED:
            wrong = ",".join(n for n in requested if n in PAIRED)
            raise UserError(
                f"--metrics {wrong} compare fake[i] with real[i]: add --paired (files matched by name)"
            )
    all_names = list(dict.fromkeys(n for g in groups for n in metrics_for(g, requested)))
    if not all_names:
        raise UserError(f"--metrics {args.metrics}: none applies here (fid,kid compare unpaired sets)")
    all_names, paths = usable_weights(all_names, requested is not None, args)
    if not all_names:
        raise UserError("no metric can run: the weights they need are missing (see the notes above)")
    device = pick_device(args.device)
    results = {}
    show_bar = sys.stderr.isatty() and not args.no_progress
    for group in groups:
        names = [n for n in metrics_for(group, requested) if n in all_names]
        if not names:
            continue
        scores = MetricSet(names, device, paths.get("inception_weights"), paths.get("lpips_weights"))
        results[group.name] = score_group(group, scores, args.batch_size, show_bar)
    print(table(results))
    if args.json:
        write_json(args.json, results if args.results_dir else next(iter(results.values())))
    if args.results_dir:
        add_to_index(args.results_dir, results)
    return results


def fmt(name: str, value: float) -> str:
    return str(int(value)) if name == "n" else f"{value:.{DIGITS.get(name, 4)}f}"


def columns(results: dict[str, dict[str, float]]) -> list[str]:
    keys = {k for r in results.values() for k in r}
    return [n for n in METRIC_NAMES if n in keys] + ["n"]


def table(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one row per group, one column per metric (kid as mean ± std)."""
    cols = columns(results)
    rows = [[""] + [("kid (± std)" if c == "kid" else c) for c in cols]]
    for name, scores in results.items():
        cells = [name]
        for c in cols:
            if c not in scores:
                cells.append("-")
            elif c == "kid":
                cells.append(f"{fmt('kid', scores['kid'])} ± {fmt('kid', scores['kid_std'])}")
            else:
                cells.append(fmt(c, scores[c]))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows)


def write_json(path: str, payload: dict) -> None:
    """Strict JSON: an infinite PSNR (identical images) is written as null."""

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return None if isinstance(value, float) and not math.isfinite(value) else value

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(clean(payload), f, indent=2, allow_nan=False)
        f.write("\n")
    print(f"scores: {path}")


def add_to_index(results_dir: str, results: dict[str, dict[str, float]]) -> None:
    """Put the score table at the top of results_dir/index.html (replacing an earlier one)."""
    index = os.path.join(results_dir, "index.html")
    if not os.path.isfile(index):
        print(f"note: {index} not found; scores not added to a page")
        return
    with open(index, encoding="utf-8") as f:
        page = f.read()
    if HTML_BEGIN in page and HTML_END in page:
        page = page[: page.index(HTML_BEGIN)] + page[page.index(HTML_END) + len(HTML_END) :]
    cols = columns(results)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["", *cols])
    body = "".join(
        "<tr>"
        + f"<td>{html.escape(name)}</td>"
        + "".join(f"<td>{fmt(c, s[c]) if c in s else '-'}</td>" for c in cols)
        + "</tr>"
        for name, s in results.items()
    )
    block = f'{HTML_BEGIN}<h3>Scores</h3><table border="1"><tr>{head}</tr>{body}</table>{HTML_END}'
    at = page.find("<body>")
    page = page[: at + len("<body>")] + block + page[at + len("<body>") :] if at >= 0 else block + page
    with open(index, "w", encoding="utf-8") as f:
        f.write(page)
    print(f"scores added to {index}")


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: evaluate(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
