"""Checkpoints that describe themselves: the options that decide a network's shape, saved beside the weights.

train.py writes `checkpoints/NAME/architecture.json`; test.py takes from it every architecture flag the user did
not pass, so `python test.py --dataroot X --name NAME` needs no `--netG/--norm/--no_dropout` guessing.
Reference checkpoints have no such file and load with explicit flags, as before. A flag given on the
command line always wins; test.py says so when it differs from the record.
"""

import json
import os

from util.errors import UserError

ARCHITECTURE_FILE = "architecture.json"
ARCHITECTURE_KEYS = (
    "model",
    "input_nc",
    "output_nc",
    "ngf",
    "ndf",
    "netG",
    "netD",
    "n_layers_D",
    "norm",
    "no_dropout",
    "direction",
)
# The direction decides which side of a pair the trained model reads. It is re-applied only when testing with
# the trained model itself: `--model test` reads one folder of inputs, where the user picks the generator.
SAME_MODEL_KEYS = ("direction",)


def save_architecture(opt, save_dir: str) -> str:
    os.makedirs(save_dir, exist_ok=True)
    path = os.path.join(save_dir, ARCHITECTURE_FILE)
    record = {key: getattr(opt, key) for key in ARCHITECTURE_KEYS}
    record["ema"] = getattr(opt, "ema_decay", 0.0) > 0  # test.py then loads the averaged generator
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
    return path


def read_architecture(save_dir: str) -> dict:
    """The saved record, {} when the checkpoint has none (a reference checkpoint); a broken file is one error."""
    path = os.path.join(save_dir, ARCHITECTURE_FILE)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read {path} ({err}); delete it and pass the architecture flags") from err


def trained_with_ema(save_dir: str) -> bool:
    """True when architecture.json says the run kept an average of its generators (--ema_decay)."""
    return bool(read_architecture(save_dir).get("ema", False))


def saved_architecture(opt, explicit: set[str], save_dir: str) -> tuple[dict, dict]:
    """The saved record's value of every architecture option not in ``explicit`` that differs from ``opt``.

    Returns (applied, overridden): the options changed from the record, and the saved values of the
    options the command line gave differently (the command line wins).
    """
    saved = read_architecture(save_dir)
    if not saved:
        return {}, {}
    # CycleGAN's G_B maps B -> A: loading it alone (--model test --model_suffix _B) swaps the channel counts.
    if saved.get("model") == "cycle_gan" and getattr(opt, "model_suffix", "") == "_B":
        saved["input_nc"], saved["output_nc"] = saved["output_nc"], saved["input_nc"]
    applied, overridden = {}, {}
    for key in ARCHITECTURE_KEYS:
        if key == "model" or key not in saved or not hasattr(opt, key) or getattr(opt, key) == saved[key]:
            continue
        if key in SAME_MODEL_KEYS and saved.get("model") != opt.model:
            continue
        if key in explicit:
            overridden[key] = saved[key]
        else:
            applied[key] = saved[key]
    return applied, overridden


def explicit_dests(argv: list[str], parser) -> set[str]:
    """The option names the user wrote on the command line (`--flag value` or `--flag=value`)."""
    written = {tok.split("=", 1)[0] for tok in argv if tok.startswith("-")}
    return {a.dest for a in parser._actions if written.intersection(a.option_strings)}
