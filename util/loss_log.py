"""`checkpoints/NAME/loss_log.txt`: the reference's plain-text loss log, line for line."""

from __future__ import annotations

import math
import re
import time

LINE = re.compile(r"^\(epoch: (\d+), iters: (\d+), time: [^,]*, data: [^)]*\) (.*)$")
LOSS = re.compile(r"(\S+): (\S+)")


def format_losses(epoch: int, iters: int, t_comp: float, t_data: float, losses: dict[str, float]) -> str:
    """`(epoch: 3, iters: 400, time: 0.052, data: 0.001) G_GAN: 0.795 G_L1: 12.300 ` (reference format).

    `iters` counts images within the epoch; the times are seconds per image. The trailing space is the
    reference's, kept so log parsers written for it keep working.
    """
    message = f"(epoch: {epoch}, iters: {iters}, time: {t_comp:.3f}, data: {t_data:.3f}) "
    return message + "".join(f"{name}: {value:.3f} " for name, value in losses.items())


class LossLog:
    """Appends loss lines to a text file; opening it writes the dated header line."""

    def __init__(self, path: str) -> None:
        self.path = path
        # A resumed run appends below the previous run's lines, each run under its own header.
        self._append(f"================ Training Loss ({time.strftime('%c')}) ================")

    def write(self, line: str) -> None:
        self._append(line)

    def _append(self, line: str) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def read_loss_log(path: str) -> list[tuple[int, int, dict[str, float]]]:
    """(epoch, iters, losses) of every loss line in `path`, oldest first; headers and other lines skipped."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            match = LINE.match(line.rstrip("\n"))
            if match is None:
                continue
            losses = {name: _number(value) for name, value in LOSS.findall(match.group(3))}
            entries.append((int(match.group(1)), int(match.group(2)), losses))
    return entries


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan
