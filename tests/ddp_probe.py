"""Run train.py under torchrun and record, per process, what a test cannot see from outside.

    torchrun --nproc_per_node=2 tests/ddp_probe.py OUT_DIR --dataroot ... --checkpoints_dir CK ...

Everything after OUT_DIR goes to train.py unchanged. Each process writes ``OUT_DIR/rank{RANK}.pt``
(load it with ``torch.load(..., weights_only=True)``) holding:

* ``rank``, ``world_size``, ``exit_code``: the process's place and what ``train.main`` returned;
* ``paths``: ``{epoch: [A_paths in the order this process trained them]}``;
* ``writes``: every file or folder this process created, changed or removed under ``--checkpoints_dir``
  (seen through Python's audit hooks, so nothing in train.py needs to cooperate);
* ``displays``: the displays this process opened (``"visdom"``, ``"wandb"``; both are stubbed out here);
* ``weights``: ``{network: state_dict}`` of the unwrapped networks at the end of training;
* ``first_grads``: ``{network: {parameter: .grad}}`` right after the first optimizer step (the gradients
  that step used, already averaged over processes by DDP);
* ``allreduce_on_last``: for each DDP gradient all-reduce, whether it ran during the last micro-batch of
  an accumulated step (``--accum_steps``); DDP's ``no_sync`` should leave no ``False`` here.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook  # noqa: E402

import train  # noqa: E402
import util.visualizer  # noqa: E402
from data.loader import DataLoaderWrapper  # noqa: E402
from models.checkpoint import unwrap  # noqa: E402

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
CHANGE_EVENTS = ("os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.truncate", "os.chmod")


class Record:
    def __init__(self, watched_dir: str) -> None:
        self.watched_dir = os.path.realpath(watched_dir) + os.sep
        self.paths: dict[int, list[str]] = {}
        self.writes: list[str] = []
        self.displays: list[str] = []
        self.first_grads: dict[str, dict[str, torch.Tensor]] = {}
        self.allreduce_on_last: list[bool] = []
        self.in_last_micro_batch = True
        self.model = None

    def audit(self, event: str, args: tuple) -> None:
        """Note writes under the checkpoints folder (builtin open, os.open, mkdir, rename, remove...)."""
        if event == "open":
            path, mode, flags = args
            writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & WRITE_FLAGS)
            targets = [path] if writes else []
        elif event in CHANGE_EVENTS:
            targets = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
        else:
            return
        for target in targets:
            if isinstance(target, (str, os.PathLike)):
                path = os.path.realpath(os.fspath(target))
                if (path + os.sep).startswith(self.watched_dir):
                    self.writes.append(f"{event} {path}")


def option_value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def install(record: Record) -> None:
    """Patch the loader, the displays and model creation so that they report to ``record``."""
    plain_set_epoch, plain_iter = DataLoaderWrapper.set_epoch, DataLoaderWrapper.__iter__

    def set_epoch(self, epoch, start_image=0):
        self.probe_epoch = epoch
        plain_set_epoch(self, epoch, start_image)

    def iterate(self):
        for batch in plain_iter(self):
            record.paths.setdefault(self.probe_epoch, []).extend(batch["A_paths"])
            yield batch

    DataLoaderWrapper.set_epoch, DataLoaderWrapper.__iter__ = set_epoch, iterate

    class StubDisplay:
        def __init__(self, kind: str) -> None:
            record.displays.append(kind)

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    util.visualizer.VisdomDisplay.connect = staticmethod(lambda *a, **k: StubDisplay("visdom"))
    util.visualizer.WandbDisplay = lambda *a, **k: StubDisplay("wandb")

    plain_create_model = train.create_model

    def create_model(*args, **kwargs):
        model = plain_create_model(*args, **kwargs)
        instrument(model, record)
        record.model = model
        return model

    train.create_model = create_model


def instrument(model, record: Record) -> None:
    """Count DDP all-reduces per micro-batch, and keep the gradients of the first optimizer step."""
    for net in model.networks().values():
        if isinstance(net, nn.parallel.DistributedDataParallel):

            def hook(state, bucket):
                record.allreduce_on_last.append(record.in_last_micro_batch)
                return allreduce_hook(state, bucket)

            net.register_comm_hook(None, hook)

    plain_micro_steps, plain_train_step = model.micro_steps, model.train_step

    def micro_steps(micro_batches):
        for index, last in plain_micro_steps(micro_batches):
            record.in_last_micro_batch = last
            yield index, last

    def train_step(micro_batches):
        plain_train_step(micro_batches)
        if not record.first_grads:
            record.first_grads = {
                name: {
                    k: p.grad.detach().clone()
                    for k, p in unwrap(net).named_parameters()
                    if p.grad is not None
                }
                for name, net in model.networks().items()
            }

    model.micro_steps, model.train_step = micro_steps, train_step


def main() -> int:
    out_dir, argv = sys.argv[1], sys.argv[2:]
    record = Record(option_value(argv, "--checkpoints_dir"))
    sys.addaudithook(record.audit)
    install(record)
    exit_code = train.main(argv)
    weights = {}
    if record.model is not None:
        weights = {
            name: {k: v.detach().cpu().clone() for k, v in unwrap(net).state_dict().items()}
            for name, net in record.model.networks().items()
        }
    rank = int(os.environ.get("RANK", "0"))
    result = {
        "rank": rank,
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
        "exit_code": exit_code,
        "paths": record.paths,
        "writes": list(record.writes),
        "displays": record.displays,
        "weights": weights,
        "first_grads": record.first_grads,
        "allreduce_on_last": record.allreduce_on_last,
    }
    os.makedirs(out_dir, exist_ok=True)
    torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
