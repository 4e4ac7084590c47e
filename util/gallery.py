"""The training gallery: `checkpoints/NAME/web/index.html`, newest epoch first, loss curves on top."""

from __future__ import annotations

import os

import numpy as np

from util.html import HTML
from util.loss_plot import CHART_WIDTH, LossHistory, draw_loss_curves, draw_metric_curves
from util.util import mkdirs, save_image

LOSS_CURVES_FILE = "loss_curves.png"
METRIC_CURVES_FILE = "metric_curves.png"  # validation scores (--val_freq)


def epoch_image_name(epoch: int, label: str) -> str:
    """`epoch003_fake_B.png`: the reference's file name for one visual of one epoch."""
    return f"epoch{epoch:03d}_{label}.png"


class TrainingGallery:
    """Writes each epoch's visuals to `web_dir/images/` and rebuilds the refreshing index page."""

    def __init__(self, web_dir: str, title: str, image_width: int) -> None:
        self.web_dir = web_dir
        self.img_dir = os.path.join(web_dir, "images")
        self.title = title
        self.image_width = image_width
        self._last_epoch = 0
        self._labels: list[str] = []
        mkdirs([self.web_dir, self.img_dir])
        print(f"create web directory {self.web_dir}...")

    @property
    def loss_curves_path(self) -> str:
        return os.path.join(self.img_dir, LOSS_CURVES_FILE)

    def save_epoch(self, epoch: int, images: dict[str, np.ndarray]) -> None:
        """Save (overwrite) this epoch's images, then rewrite index.html."""
        for label, image in images.items():
            save_image(image, os.path.join(self.img_dir, epoch_image_name(epoch, label)))
        self._last_epoch = max(self._last_epoch, epoch)
        self._labels = list(images)
        self.write_index()

    def save_loss_curves(self, history: LossHistory, title: str) -> None:
        """Redraw the loss chart; the index gains it the first time it appears."""
        is_new = not os.path.exists(self.loss_curves_path)
        draw_loss_curves(history, title=title).save(self.loss_curves_path)
        if is_new and self._last_epoch:
            self.write_index()

    @property
    def metric_curves_path(self) -> str:
        return os.path.join(self.img_dir, METRIC_CURVES_FILE)

    def save_metric_curves(self, history: LossHistory, title: str) -> None:
        """Redraw the validation charts and the index (which shows them above the loss curves)."""
        draw_metric_curves(history, title=title).save(self.metric_curves_path)
        self.write_index()

    def write_index(self) -> None:
        """Loss curves, then one row per epoch from the newest down, for the epochs whose images exist.

        Checking the files (rather than listing every epoch like the reference) keeps a resumed run's
        older epochs on the page and leaves out epochs that were never displayed.
        """
        page = HTML(self.web_dir, self.title, refresh=1)
        if os.path.exists(self.metric_curves_path):
            page.add_header("validation")
            page.add_images([METRIC_CURVES_FILE], ["validation"], [METRIC_CURVES_FILE], width=CHART_WIDTH)
        if os.path.exists(self.loss_curves_path):
            page.add_header("loss curves")
            page.add_images([LOSS_CURVES_FILE], ["losses"], [LOSS_CURVES_FILE], width=CHART_WIDTH)
        for epoch in range(self._last_epoch, 0, -1):
            names = [epoch_image_name(epoch, label) for label in self._labels]
            present = [(n, label) for n, label in zip(names, self._labels) if self._exists(n)]
            if not present:
                continue
            page.add_header(f"epoch [{epoch}]")
            files = [n for n, _ in present]
            page.add_images(files, [label for _, label in present], files, width=self.image_width)
        page.save()

    def _exists(self, image_name: str) -> bool:
        return os.path.exists(os.path.join(self.img_dir, image_name))
