"""Live display on a visdom server (`--display_id > 0`): an image grid, its labels, and the loss plot.

A missing or vanished server never stops training: it is reported once, on one line, and the display
switches itself off. No server is ever started on the user's behalf.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from util.loss_plot import LossHistory

# visdom's client posts without a timeout, so an unreachable host would hang training for minutes.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 10.0
LABEL_CSS = "<style>table {border-spacing: 4px; text-align: center} td {padding: 4px}</style>"


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _make_client(server: str, port: int, env: str):
    """A visdom client that raises on connection errors (instead of printing tracebacks) and times out."""
    import visdom  # optional dependency: only needed with --display_id > 0

    class _TimeoutVisdom(visdom.Visdom):
        # visdom documents _handle_post as the method to override to change how requests are sent.
        def _handle_post(self, url, data=None):
            timeout = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
            return self.session.post(url, data=data or {}, timeout=timeout).text

    # No incoming socket: we never receive events, and its background thread would retry forever.
    # Its constructor logs two notes about that at WARNING level; they are noise for a training run.
    visdom_logger = logging.getLogger("visdom")
    level = visdom_logger.level
    visdom_logger.setLevel(logging.ERROR)
    try:
        return _TimeoutVisdom(
            server=server, port=port, env=env, raise_exceptions=True, use_incoming_socket=False
        )
    finally:
        visdom_logger.setLevel(level)


def _grid(images: dict[str, np.ndarray], ncols: int) -> tuple[np.ndarray, str]:
    """N x 3 x H x W batch (white-padded to a full last row) and the HTML table of labels laid out alike."""
    height = max(im.shape[0] for im in images.values())
    width = max(im.shape[1] for im in images.values())
    white = np.full((3, height, width), 255, dtype=np.uint8)
    tiles, cells = [], []
    for label, image in images.items():
        tile = white.copy()
        tile[:, : image.shape[0], : image.shape[1]] = image.transpose(2, 0, 1)
        tiles.append(tile)
        cells.append(f"<td>{label}</td>")
    while len(tiles) % ncols:
        tiles.append(white)
        cells.append("<td></td>")
    rows = ["<tr>" + "".join(cells[i : i + ncols]) + "</tr>" for i in range(0, len(cells), ncols)]
    return np.stack(tiles), LABEL_CSS + "<table>" + "".join(rows) + "</table>"


class VisdomDisplay:
    """Windows in one visdom env: `window_id` = loss plot, +1 = image grid, +2 = labels (reference ids).

    With ncols <= 0 every image gets its own window instead (ids window_id + 1, + 2, ...).
    """

    def __init__(self, client, *, address: str, window_id: int, ncols: int, title: str) -> None:
        self.client = client
        self.address = address
        self.window_id = window_id
        self.ncols = ncols
        self.title = title

    @classmethod
    def connect(
        cls, server: str, port: int, env: str, *, window_id: int, ncols: int, title: str
    ) -> VisdomDisplay | None:
        """The display, or None (after one warning) when no server answers at server:port."""
        address = f"{server}:{port}"
        try:
            client = _make_client(server, port, env)
            connected = client.check_connection(timeout_seconds=0)
        except ConnectionError:
            connected = False
        if not connected:
            _warn(
                f"no visdom server answers at {address} (--display_server/--display_port); training goes on "
                "without visdom. Start one with `python -m visdom.server`, or pass --display_id 0 to turn it off."
            )
            return None
        return cls(client, address=address, window_id=window_id, ncols=ncols, title=title)

    def show_images(self, images: dict[str, np.ndarray]) -> None:
        if self.client is None:
            return
        with self._reporting_lost_server():
            if self.ncols <= 0:
                for offset, (label, image) in enumerate(images.items(), start=1):
                    chw = image.transpose(2, 0, 1)
                    self.client.image(chw, win=str(self.window_id + offset), opts={"title": label})
                return
            ncols = min(self.ncols, len(images))
            batch, labels_html = _grid(images, ncols)
            self.client.images(
                batch,
                nrow=ncols,
                padding=2,
                win=str(self.window_id + 1),
                opts={"title": f"{self.title} images"},
            )
            self.client.text(labels_html, win=str(self.window_id + 2), opts={"title": f"{self.title} labels"})

    def plot_losses(self, history: LossHistory) -> None:
        """Redraw the whole loss plot (visdom's line() replaces the window's data)."""
        self._plot(history, str(self.window_id), "loss over time", "loss")

    def plot_metrics(self, history: LossHistory) -> None:
        """Redraw the validation scores in their own window (`{window_id}_metrics`), one line per metric."""
        self._plot(history, f"{self.window_id}_metrics", "validation", "score")

    def _plot(self, history: LossHistory, window: str, title: str, y_label: str) -> None:
        if self.client is None:
            return
        x = np.stack([np.array(history.x)] * len(history.names), axis=1)
        opts = {
            "title": f"{self.title} {title}",
            "legend": history.names,
            "xlabel": "epoch",
            "ylabel": y_label,
        }
        with self._reporting_lost_server():
            self.client.line(X=x, Y=np.array(history.rows), win=window, opts=opts)

    @contextmanager
    def _reporting_lost_server(self) -> Iterator[None]:
        """A lost server is reported once and turns the display off; training carries on."""
        try:
            yield
        except ConnectionError:
            _warn(f"lost the visdom server at {self.address}; training goes on without visdom.")
            self.client = None
