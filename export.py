"""Export a trained generator to ONNX or TorchScript, computing what translate.py computes in the same mode.

    python export.py --name horse2zebra --which G_A --format onnx --output g.onnx --check
    python export.py --name facades --format torchscript --eval --output g.pt

The exported model takes (N, C, H, W) in [-1, 1] with any height and width the network allows (multiples of
4 for ResNet generators, of 2**num_downs for U-Nets; at least 8) and returns the same layout; padding other
sizes is the caller's job (models/tiling.py reflect_pad shows how). Train mode (the default, as test.py):
BatchNorm and instance norm are written as explicit mean/variance ops, so the exported graph normalises with
each batch's own statistics; the ONNX exporter alone would freeze a train-mode BatchNorm to its running
statistics. Dropout draws random masks that no exported graph reproduces: a generator with dropout is
refused in train mode unless --drop_dropout, which exports dropout as the identity (its expected value).
"""

from __future__ import annotations

import os
import sys
import warnings

from translate import CliParser, add_checkpoint_flags, checkpoint_request
from util.cli import run_cli
from util.errors import UserError

FORMATS = ("onnx", "torchscript")
OPSET = 17


def build_parser() -> CliParser:
    parser = CliParser(prog="export.py", description=__doc__.split("\n")[0])
    add_checkpoint_flags(parser)
    g = parser.add_argument_group("export")
    g.add_argument("--format", required=True, help="onnx | torchscript")
    g.add_argument("--output", required=True, help="the file to write (e.g. generator.onnx, generator.pt)")
    g.add_argument(
        "--drop_dropout",
        action="store_true",
        help="train mode with a dropout generator: export dropout as the identity instead of refusing",
    )
    g.add_argument(
        "--check",
        action="store_true",
        help="compare the exported model with PyTorch at two sizes (onnxruntime)",
    )
    g.add_argument("--size", type=int, default=256, help="example input side used for tracing")
    return parser


def exportable_generator(g, drop_dropout: bool):
    """The translator's network with dropout made deterministic, or a UserError when it cannot be."""
    import torch

    dropouts = [m for m in g.net.modules() if isinstance(m, torch.nn.Dropout) and m.training]
    if dropouts and not drop_dropout:
        raise UserError(
            f"this generator has {len(dropouts)} dropout layers, which in train mode (the default, as test.py) "
            "draw random masks an exported graph cannot reproduce; pass --eval (dropout off, BatchNorm running "
            "statistics) or --drop_dropout (dropout as identity, BatchNorm still with batch statistics)"
        )
    for m in dropouts:
        m.eval()  # identity: the expected value of train-mode dropout (kept units are scaled by 1/(1-p))
    return g.net


def check_sizes(multiple: int, size: int) -> list[tuple[int, int]]:
    """Two sizes unlike the tracing size (one not square), both valid for the network."""
    side = max(multiple, 8)
    a = -(-max(size // 2, side) // side) * side
    return [(a, a + side), (a + 2 * side, a + side)]


def export_model(net, fmt: str, path: str, example):
    import torch

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # Tracer and exporter notes (shape-dependent ops, the legacy exporter) say nothing actionable; --check verifies.
    warnings.simplefilter("ignore")
    if fmt == "torchscript":
        with torch.no_grad():
            traced = torch.jit.trace(net, example, check_trace=False)
        traced.save(path)
        return
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError as err:
        raise UserError("--format onnx needs onnx: pip install -r requirements-export.txt") from err
    axes = {0: "batch", 2: "height", 3: "width"}
    with torch.no_grad():
        torch.onnx.export(
            net, (example,), path, input_names=["input"], output_names=["output"], opset_version=OPSET,
            dynamic_axes={"input": axes, "output": axes}, dynamo=False, do_constant_folding=True,
        )  # fmt: skip


def run_exported(fmt: str, path: str, x):
    """The exported model's output for ``x`` (a CPU tensor), as a numpy array."""
    import torch

    if fmt == "torchscript":
        with torch.no_grad():
            return torch.jit.load(path, map_location="cpu")(x).numpy()
    try:
        import onnxruntime
    except ImportError as err:
        raise UserError("--check needs onnxruntime: pip install -r requirements-export.txt") from err
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.numpy()})[0]


def parity(
    net, fmt: str, path: str, sizes, input_nc: int, seed: int = 0
) -> list[tuple[tuple[int, int], float]]:
    """Max |exported - PyTorch| on a random image of each size."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    results = []
    for h, w in sizes:
        x = torch.rand(1, input_nc, h, w, generator=gen) * 2 - 1
        with torch.no_grad():
            want = net(x).numpy()
        got = run_exported(fmt, path, x)
        results.append(((h, w), float(abs(got - want).max())))
    return results


def export(argv: list[str]) -> str:
    opt = build_parser().parse_args(argv)
    if opt.format not in FORMATS:
        raise UserError(f"--format {opt.format} is unknown; choose one of: {', '.join(FORMATS)}")
    import torch

    from models.inference import load_generator

    path, which, flags = checkpoint_request(opt)
    g = load_generator(path, which, opt.epoch, eval=opt.eval, device="cpu", **flags)
    net = exportable_generator(g, opt.drop_dropout)
    side = max(g.multiple, 8)
    size = -(-opt.size // side) * side
    example = torch.rand(1, g.input_nc, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    export_model(net, opt.format, opt.output, example)
    mode = (
        "eval"
        if opt.eval
        else "train (batch statistics" + (", dropout as identity)" if opt.drop_dropout else ")")
    )
    print(f"exported {opt.format} to {opt.output}: mode {mode}; input (N, {g.input_nc}, H, W) in [-1, 1], "
          f"H and W multiples of {g.multiple}, at least {side}")  # fmt: skip
    if opt.check:
        worst = 0.0
        for (h, w), diff in parity(net, opt.format, opt.output, check_sizes(g.multiple, size), g.input_nc):
            print(f"check {h}x{w}: max abs difference to PyTorch {diff:.2e}")
            worst = max(worst, diff)
        if worst > 1e-4:
            raise UserError(
                f"the exported model differs from PyTorch by {worst:.2e} (> 1e-4); please report it"
            )
    return opt.output


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: export(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
