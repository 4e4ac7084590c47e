"""`train.py --help` / `test.py --help`: every flag, including those a model or a dataset mode adds.

A model's hook adds its flags only once `--model` is known (SPEC §1 parsing order), so argparse's own help
would never show `--lambda_L1` or `--lambda_A`. Here every registered model's and dataset mode's hook runs
against a recorder, and its flags are listed under a heading of their own ("--model pix2pix (these flags
exist only with it)") with the defaults the hook changes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from util.errors import UserError


class _HookRecorder:
    """Passed to a hook in place of the parser: it records the flags the hook adds and the defaults it sets."""

    def __init__(self) -> None:
        self.flags: list[tuple[tuple[str, ...], dict]] = []
        self.defaults: dict[str, object] = {}

    def add_argument(self, *names: str, **kwargs) -> None:
        self.flags.append((names, kwargs))

    def set_defaults(self, **kwargs) -> None:
        self.defaults.update(kwargs)


def _recorded_hooks(kind: str, hooks: dict[str, Callable], is_train: bool) -> dict[str, _HookRecorder]:
    """'--model pix2pix' -> what its hook adds; hooks that refuse this entry point (--model test in train.py)
    are left out."""
    recorded = {}
    # In table order: a parent model (pix2pix) comes before its subclass (colorization), so a flag both add is
    # listed under the parent.
    for name in hooks:
        recorder = _HookRecorder()
        try:
            hooks[name](recorder, is_train)
        except UserError:
            continue
        recorded[f"{kind} {name}"] = recorder
    return recorded


def full_help(parser: argparse.ArgumentParser, is_train: bool) -> str:
    """The help of `parser` (base + train or test flags) plus every model's and dataset mode's flags."""
    from .model_options import DATASET_OPTIONS, MODEL_OPTIONS  # torch-free: no model is imported for --help

    recorded = _recorded_hooks("--model", MODEL_OPTIONS, is_train)
    recorded |= _recorded_hooks("--dataset_mode", DATASET_OPTIONS, is_train)
    users: dict[str, list[str]] = {}  # a flag added by several hooks (colorization reuses pix2pix's)
    for owner, recorder in recorded.items():
        for names, _ in recorder.flags:
            users.setdefault(names[0], []).append(owner)
    for owner, recorder in recorded.items():
        flags = [(names, kwargs) for names, kwargs in recorder.flags if users[names[0]][0] == owner]
        if not flags and not recorder.defaults:
            continue
        changed = ", ".join(f"--{k} {v}" for k, v in recorder.defaults.items())
        group = parser.add_argument_group(
            f"{owner} (these flags exist only with it)" if flags else owner,
            f"it sets the defaults {changed}" if changed else None,
        )
        for names, kwargs in flags:
            also = users[names[0]][1:]
            if also:
                kwargs = {**kwargs, "help": f"{kwargs.get('help', '')} (also with {', '.join(also)})"}
            group.add_argument(*names, **kwargs)
    return parser.format_help()


class FullHelpAction(argparse.Action):
    """`-h/--help`: print `full_help` and exit 0, as argparse's own help does."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None, *,
                 make_parser: Callable[[], argparse.ArgumentParser], is_train: bool):  # fmt: skip
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)
        self.make_parser, self.is_train = make_parser, is_train

    def __call__(self, parser, namespace, values, option_string=None):
        print(full_help(self.make_parser(), self.is_train), end="")
        parser.exit()
