"""Loss history kept during training, and a line chart of it drawn with PIL (no matplotlib dependency)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

# One colour per loss, in legend order (the usual ten-colour categorical palette).
COLORS = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)
GRID = (225, 225, 225)
NUM_TICKS = 5
CHART_SIZE = (720, 400)  # width, height in pixels
METRIC_CHART_SIZE = (720, 220)  # one per validation metric


@dataclass
class LossHistory:
    """Loss values against fractional epoch (epoch + fraction of the epoch done).

    The loss names are fixed by the first `add`, like the reference's visdom plot; a name missing from a
    later call is recorded as NaN (not drawn) instead of raising.
    """

    names: list[str] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)

    def add(self, x: float, losses: dict[str, float]) -> None:
        if not self.names:
            self.names = list(losses)
        self.x.append(float(x))
        self.rows.append([float(losses.get(name, math.nan)) for name in self.names])

    def series(self, name: str) -> list[tuple[float, float]]:
        """Finite (x, y) points of one loss."""
        column = self.names.index(name)
        points = ((x, row[column]) for x, row in zip(self.x, self.rows))
        return [(x, y) for x, y in points if math.isfinite(y)]

    def __len__(self) -> int:
        return len(self.x)


def _span(values: list[float]) -> tuple[float, float]:
    """(low, high) covering `values`, never empty, so a constant loss still gets a visible axis."""
    low, high = min(values), max(values)
    if high - low < 1e-12:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


def _tick_label(value: float) -> str:
    return f"{value:.3g}"


@dataclass(frozen=True)
class _Frame:
    """Pixel box of the plot area and the data ranges it shows."""

    left: int
    top: int
    right: int
    bottom: int
    x_span: tuple[float, float]
    y_span: tuple[float, float]

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.x_span, self.y_span
        px = self.left + (x - x0) / (x1 - x0) * (self.right - self.left)
        py = self.bottom - (y - y0) / (y1 - y0) * (self.bottom - self.top)
        return px, py


def _text_size(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return int(right - left), int(bottom - top)


def _draw_axes(draw: ImageDraw.ImageDraw, frame: _Frame, font: ImageFont.ImageFont) -> None:
    """Grid lines, tick labels and the box around the plot area."""
    for i in range(NUM_TICKS):
        t = i / (NUM_TICKS - 1)
        y_value = frame.y_span[0] + t * (frame.y_span[1] - frame.y_span[0])
        _, py = frame.to_pixel(frame.x_span[0], y_value)
        draw.line([(frame.left, py), (frame.right, py)], fill=GRID)
        w, h = _text_size(draw, _tick_label(y_value), font)
        draw.text((frame.left - w - 6, py - h / 2 - 2), _tick_label(y_value), fill=INK, font=font)

        x_value = frame.x_span[0] + t * (frame.x_span[1] - frame.x_span[0])
        px, _ = frame.to_pixel(x_value, frame.y_span[0])
        draw.line([(px, frame.top), (px, frame.bottom)], fill=GRID)
        w, _ = _text_size(draw, _tick_label(x_value), font)
        draw.text((px - w / 2, frame.bottom + 6), _tick_label(x_value), fill=INK, font=font)
    draw.rectangle([frame.left, frame.top, frame.right, frame.bottom], outline=INK)


def _draw_legend(draw: ImageDraw.ImageDraw, names: list[str], left: int, top: int, font) -> None:
    for i, name in enumerate(names):
        y = top + i * 18
        color = COLORS[i % len(COLORS)]
        draw.line([(left, y + 6), (left + 18, y + 6)], fill=color, width=3)
        draw.text((left + 24, y), name, fill=INK, font=font)


def draw_loss_curves(
    history: LossHistory,
    title: str = "loss over time",
    size: tuple[int, int] = CHART_SIZE,
    y_label: str = "loss",
) -> Image.Image:
    """Line chart of every loss in `history` against epoch: one colour per loss, legend on the right."""
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    legend_width = 40 + max((_text_size(draw, n, font)[0] for n in history.names), default=0)

    points = {name: history.series(name) for name in history.names}
    all_x = [x for series in points.values() for x, _ in series] or [0.0]
    all_y = [y for series in points.values() for _, y in series] or [0.0]
    frame = _Frame(
        left=70,
        top=36,
        right=size[0] - legend_width - 10,
        bottom=size[1] - 46,
        x_span=_span(all_x),
        y_span=_span(all_y),
    )

    title_w, _ = _text_size(draw, title, font)
    draw.text(((frame.left + frame.right - title_w) / 2, 10), title, fill=INK, font=font)
    _draw_axes(draw, frame, font)
    label_w, _ = _text_size(draw, "epoch", font)
    draw.text(((frame.left + frame.right - label_w) / 2, size[1] - 22), "epoch", fill=INK, font=font)
    draw.text((10, frame.top - 22), y_label, fill=INK, font=font)

    for i, name in enumerate(history.names):
        color = COLORS[i % len(COLORS)]
        pixels = [frame.to_pixel(x, y) for x, y in points[name]]
        if len(pixels) > 1:
            draw.line(pixels, fill=color, width=2, joint="curve")
        elif pixels:  # a lone point has no line to show it: draw a dot
            px, py = pixels[0]
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=color)
    _draw_legend(draw, history.names, frame.right + 14, frame.top, font)
    return image


def draw_metric_curves(
    history: LossHistory, title: str, size: tuple[int, int] = METRIC_CHART_SIZE
) -> Image.Image:
    """One small chart per metric, stacked (PSNR in dB and SSIM in [0, 1] do not share an axis)."""
    charts = [
        draw_loss_curves(_one_metric(history, name), f"{title}: {name}", size, y_label=name)
        for name in history.names
    ]
    image = Image.new("RGB", (size[0], size[1] * max(len(charts), 1)), BACKGROUND)
    for i, chart in enumerate(charts):
        image.paste(chart, (0, i * size[1]))
    return image


def _one_metric(history: LossHistory, name: str) -> LossHistory:
    column = history.names.index(name)
    return LossHistory([name], list(history.x), [[row[column]] for row in history.rows])
