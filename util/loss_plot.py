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
NUM_TICKS = 3
CHART_WIDTH = 720  # pixels; the gallery shows the chart at this width
PANEL_HEIGHT = 180
COLUMNS = 2  # panels per row (one when there is a single loss)
TITLE_HEIGHT = 40
TITLE_FONT_SIZE = 18
LABEL_FONT_SIZE = 12


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
        """Add a point; one at or before the last point replaces the history from there on (a resumed run
        re-trains from its checkpoint, so its points supersede the ones logged after that checkpoint)."""
        if not self.names:
            self.names = list(losses)
        while self.x and self.x[-1] >= x:
            self.x.pop()
            self.rows.pop()
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


def _font(size: int) -> ImageFont.ImageFont:
    """Pillow's built-in font at `size` px (scalable when Pillow has FreeType, else its small bitmap font)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1, or no FreeType
        return ImageFont.load_default()


def chart_size(num_losses: int) -> tuple[int, int]:
    """(width, height) of the chart for `num_losses` panels."""
    rows = math.ceil(num_losses / _columns(num_losses)) if num_losses else 0
    return CHART_WIDTH, TITLE_HEIGHT + rows * PANEL_HEIGHT


def _columns(num_losses: int) -> int:
    return 1 if num_losses == 1 else COLUMNS


def _draw_panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], name: str, points, color) -> None:
    """One loss in its own box: its name on top, its own y range, epochs along x."""
    left, top, right, bottom = box
    font = _font(LABEL_FONT_SIZE)
    name_w, _ = _text_size(draw, name, font)
    draw.text(((left + right - name_w) / 2, top + 4), name, fill=INK, font=font)
    frame = _Frame(
        left=left + 62,
        top=top + 26,
        right=right - 16,
        bottom=bottom - 30,
        x_span=_span([x for x, _ in points] or [0.0]),
        y_span=_span([y for _, y in points] or [0.0]),
    )
    _draw_axes(draw, frame, font)
    pixels = [frame.to_pixel(x, y) for x, y in points]
    if len(pixels) > 1:
        draw.line(pixels, fill=color, width=2, joint="curve")
    elif pixels:  # a lone point has no line to show it: draw a dot
        px, py = pixels[0]
        draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=color)


def draw_loss_curves(history: LossHistory, title: str = "training losses by epoch") -> Image.Image:
    """One panel per loss, each with its own y range, so a large term (G_L1 ~ 10) does not flatten the
    small ones (D losses ~ 0.3); x axis = epoch (fractional). Panels fill rows of two, in loss order."""
    size = chart_size(len(history.names))
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font = _font(TITLE_FONT_SIZE)
    title_w, title_h = _text_size(draw, title, title_font)
    draw.text(((size[0] - title_w) / 2, (TITLE_HEIGHT - title_h) / 2 - 2), title, fill=INK, font=title_font)
    columns = _columns(len(history.names))
    panel_w = size[0] // columns
    for i, name in enumerate(history.names):
        row, col = divmod(i, columns)
        top = TITLE_HEIGHT + row * PANEL_HEIGHT
        box = (col * panel_w, top, (col + 1) * panel_w, top + PANEL_HEIGHT)
        _draw_panel(draw, box, name, history.series(name), COLORS[i % len(COLORS)])
    return image


def draw_metric_curves(history: LossHistory, title: str) -> Image.Image:
    """Validation scores by epoch: one panel per metric, each with its own y range (PSNR in dB and SSIM in
    [0, 1] do not share an axis)."""
    return draw_loss_curves(history, title)
