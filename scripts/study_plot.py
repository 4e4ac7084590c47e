"""study.png of scripts/batch_size_study.py: steps to target and SFO against batch size, log-log, PIL only."""

from __future__ import annotations

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from util.loss_plot import BACKGROUND, COLORS, GRID, INK  # noqa: E402

PANEL = (460, 380)  # width, height of one chart
MARGIN = dict(left=70, top=40, right=20, bottom=50)
NOTE_WIDTH = 300
CRITICAL = (214, 39, 40)
NOISE = (44, 160, 44)


def _log_span(values: list[float]) -> tuple[float, float]:
    """Decades (powers of ten) covering the values, at least one decade wide."""
    low = math.floor(math.log10(min(values))) if values else 0
    high = math.ceil(math.log10(max(values))) if values else 1
    return float(low), float(max(high, low + 1))


class LogFrame:
    def __init__(self, box: tuple[int, int, int, int], xs: list[float], ys: list[float]) -> None:
        self.left, self.top, self.right, self.bottom = box
        # batch sizes are powers of two: give x a base-2 grid with half a step of room either side
        self.x0 = math.log2(min(xs)) - 0.5 if xs else 0.0
        self.x1 = math.log2(max(xs)) + 0.5 if xs else 1.0
        self.y0, self.y1 = _log_span(ys)

    def px(self, x: float, y: float) -> tuple[float, float]:
        fx = (math.log2(x) - self.x0) / (self.x1 - self.x0)
        fy = (math.log10(y) - self.y0) / (self.y1 - self.y0)
        return self.left + fx * (self.right - self.left), self.bottom - fy * (self.bottom - self.top)


def _vertical(draw, font, frame: LogFrame, box, x: float, color, label: str, dash: int, row: int) -> None:
    """A dashed vertical line at batch x (when inside the axis) with its label near the top."""
    if not (2.0**frame.x0 <= x <= 2.0**frame.x1):
        return
    px, _ = frame.px(x, 10.0**frame.y0)
    for y in range(box[1], box[3], 2 * dash):
        draw.line([(px, y), (px, min(y + dash, box[3]))], fill=color, width=2)
    draw.text((px + 4, box[1] + 4 + 14 * row), label, fill=color, font=font)


def _panel(draw, font, origin, title, ylabel, cells, key, medians, critical, noise) -> None:
    ox, oy = origin
    box = (
        ox + MARGIN["left"],
        oy + MARGIN["top"],
        ox + PANEL[0] - MARGIN["right"],
        oy + PANEL[1] - MARGIN["bottom"],
    )
    xs = sorted({c["batch_size"] for c in cells})
    ys = [c[key] for c in cells if c[key]] + [m for _, m in medians]
    frame = LogFrame(box, xs, ys)
    for decade in range(int(frame.y0), int(frame.y1) + 1):
        _, py = frame.px(xs[0] if xs else 1, 10.0**decade)
        draw.line([(box[0], py), (box[2], py)], fill=GRID)
        draw.text(
            (box[0] - 48, py - 6),
            f"1e{decade}" if abs(decade) > 5 else f"{10.0**decade:g}",
            fill=INK,
            font=font,
        )
    for b in xs:
        px, _ = frame.px(b, 10.0**frame.y0)
        draw.line([(px, box[1]), (px, box[3])], fill=GRID)
        draw.text((px - 4, box[3] + 6), str(b), fill=INK, font=font)
    draw.rectangle(box, outline=INK)
    draw.text((box[0], oy + 12), title, fill=INK, font=font)
    draw.text(((box[0] + box[2]) / 2 - 30, box[3] + 24), "batch size (log)", fill=INK, font=font)
    draw.text((ox + 4, oy + 26), ylabel, fill=INK, font=font)
    if critical is not None:
        _vertical(draw, font, frame, box, critical, CRITICAL, f"critical {critical}", dash=4, row=0)
    if noise is not None and math.isfinite(noise) and noise > 0:
        _vertical(draw, font, frame, box, noise, NOISE, f"B_simple(G) {noise:.3g}", dash=2, row=1)
    seeds = sorted({c["seed"] for c in cells})
    for c in cells:
        if c[key]:
            x, y = frame.px(c["batch_size"], c[key])
            color = COLORS[(seeds.index(c["seed"]) + 1) % len(COLORS)]
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], outline=color)
    points = [frame.px(b, m) for b, m in medians]
    if len(points) > 1:
        draw.line(points, fill=COLORS[0], width=2)
    for x, y in points:
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=COLORS[0])


def draw_study(summary: dict, cells: list[dict], target: str) -> Image.Image:
    """Two log-log panels (steps, SFO = images to target) with seeds as rings, medians as a line, the
    least-SFO batch dashed in red, G's noise scale dotted in green, and the estimates written beside them."""
    image = Image.new("RGB", (2 * PANEL[0] + NOTE_WIDTH, PANEL[1]), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    rows, critical = summary["per_batch"], summary["critical_batch_sfo"]
    steps = [(r["batch_size"], r["median_steps"]) for r in rows if r["median_steps"]]
    sfo = [(r["batch_size"], r["median_sfo"]) for r in rows if r["median_sfo"]]
    noise = summary.get("noise_scale_G")
    _panel(
        draw, font, (0, 0), f"steps to {target}", "steps", cells, "steps_to_target", steps, critical, noise
    )
    _panel(draw, font, (PANEL[0], 0), f"SFO (images) to {target}", "images", cells, "images_to_target", sfo,
           critical, noise)  # fmt: skip
    fitted = summary.get("fitted") or {}
    lines = [
        "median of seeds: line; each seed: ring",
        f"critical batch (least SFO): {critical if critical is not None else 'n/a'}",
        f"fit S = S_min(1 + B_crit/B): B_crit = {_fmt(fitted.get('B_crit'))}",
        "",
        "gradient noise scale B_simple",
        "(McCandlish et al. 2018, median of cells):",
        f"  G: {_fmt(summary.get('noise_scale_G'))}",
        f"  D: {_fmt(summary.get('noise_scale_D'))}",
        "",
        "cells reaching the target:",
        *(f"  batch {r['batch_size']}: {r['reached']}/{r['seeds']}" for r in rows),
    ]
    for i, line in enumerate(lines):
        draw.text((2 * PANEL[0] + 10, MARGIN["top"] + 16 * i), line, fill=INK, font=font)
    return image


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a" if value is None or math.isnan(value) else "inf"
    return f"{value:.3g}"
