"""The training display facade, and the test-time gallery helper.

`Visualizer` only routes: the loss log (`util/loss_log.py`), the HTML gallery (`util/gallery.py`), visdom
(`util/visdom_display.py`) and wandb (`util/wandb_display.py`) each do one job. On DDP ranks other than 0
(`is_main_process=False`) it builds none of them, so those ranks write, print and send nothing.
"""

from __future__ import annotations

import argparse
import os

import torch

from util.gallery import TrainingGallery
from util.html import HTML
from util.loss_log import LossLog, format_losses, read_loss_log
from util.loss_plot import LossHistory
from util.result_names import file_stem
from util.util import mkdirs, save_image, tensor2im
from util.visdom_display import VisdomDisplay
from util.wandb_display import WandbDisplay


class Visualizer:
    """Shows training progress: loss_log.txt, the web/ gallery, visdom and wandb, each when enabled.

    Reads from `opt`: name, checkpoints_dir, isTrain, no_html, display_winsize, display_id, display_server,
    display_port, display_env, display_ncols, use_wandb, wandb_project_name, continue_train. With
    `images_per_epoch` (the x scale of the loss plots), a resumed run's plots start from the history in
    loss_log.txt.
    """

    def __init__(
        self, opt: argparse.Namespace, *, is_main_process: bool = True, images_per_epoch: int = 0
    ) -> None:
        self.name = opt.name
        self.saved_this_epoch = False
        self.history = LossHistory()
        self.metric_history = LossHistory()  # validation scores against epoch (--val_freq)
        self.log: LossLog | None = None
        self.gallery: TrainingGallery | None = None
        self.visdom: VisdomDisplay | None = None
        self.wandb: WandbDisplay | None = None
        if not is_main_process:
            return
        expr_dir = os.path.join(opt.checkpoints_dir, opt.name)
        if opt.isTrain:
            mkdirs(expr_dir)
            self.log = LossLog(os.path.join(expr_dir, "loss_log.txt"))
        if opt.isTrain and not opt.no_html:
            title = f"Experiment name = {opt.name}"
            self.gallery = TrainingGallery(
                os.path.join(expr_dir, "web"), title, image_width=opt.display_winsize
            )
        if opt.isTrain and opt.display_id > 0:
            self.visdom = VisdomDisplay.connect(
                opt.display_server,
                opt.display_port,
                opt.display_env,
                window_id=opt.display_id,
                ncols=opt.display_ncols,
                title=opt.name,
            )
        if opt.use_wandb:
            self.wandb = WandbDisplay(opt.wandb_project_name, opt.name, config=vars(opt))
        if self.log and opt.continue_train and images_per_epoch > 0:
            for epoch, iters, losses in read_loss_log(self.log.path):
                self.history.add(epoch + iters / images_per_epoch, losses)

    def reset(self) -> None:
        """Start of an epoch: the next display_current_results saves to the gallery whatever save_result says."""
        self.saved_this_epoch = False

    def display_current_results(
        self, visuals: dict[str, torch.Tensor], epoch: int, save_result: bool
    ) -> None:
        """Images to visdom and wandb; also to the HTML gallery when save_result or first time this epoch."""
        if not (self.visdom or self.wandb or self.gallery):
            return
        images = {label: tensor2im(tensor) for label, tensor in visuals.items()}
        if self.visdom:
            self.visdom.show_images(images)
        if self.wandb:
            self.wandb.log_images(images, epoch)
        if self.gallery and (save_result or not self.saved_this_epoch):
            self.saved_this_epoch = True
            self.gallery.save_epoch(epoch, images)

    def save_epoch_end(self, epoch: int, model) -> None:
        """End of an epoch: when nothing reached the gallery this epoch (a run shorter than --display_freq),
        save `model`'s last visuals there, so every epoch leaves a row. Visdom and wandb get nothing extra."""
        if self.gallery is None or self.saved_this_epoch or not model.get_image_paths():
            return  # no paths: no step ran in this process yet (resumed at the end of an epoch)
        model.compute_visuals()
        self.saved_this_epoch = True
        self.gallery.save_epoch(
            epoch, {label: tensor2im(t) for label, t in model.get_current_visuals().items()}
        )

    def plot_current_losses(self, epoch: int, counter_ratio: float, losses: dict[str, float]) -> None:
        """Add a point at epoch + counter_ratio (fraction of the epoch done) to every loss plot."""
        if not (self.visdom or self.wandb or self.gallery):
            return
        self.history.add(epoch + counter_ratio, losses)
        if self.visdom:
            self.visdom.plot_losses(self.history)
        if self.wandb:
            self.wandb.log_losses(losses, epoch + counter_ratio)
        if self.gallery:
            self.gallery.save_loss_curves(self.history, title=f"{self.name}: training losses by epoch")

    def plot_metrics(self, epoch: int, metrics: dict[str, float]) -> None:
        """Add one validation's scores (util/validation.py) to the gallery's metrics chart, visdom and wandb."""
        self.metric_history.add(epoch, metrics)
        if self.visdom:
            self.visdom.plot_metrics(self.metric_history)
        if self.wandb:
            self.wandb.log_metrics(metrics, epoch)
        if self.gallery:
            self.gallery.save_metric_curves(self.metric_history, title=f"{self.name} validation")

    def print_current_losses(
        self, epoch: int, iters: int, losses: dict[str, float], t_comp: float, t_data: float
    ) -> None:
        """Print one loss line and append it to loss_log.txt (reference format, see util/loss_log.py)."""
        if self.log is None:
            return
        line = format_losses(epoch, iters, t_comp, t_data, losses)
        print(line)
        self.log.write(line)

    def close(self) -> None:
        """Finish the wandb run (flushes its files); the other displays hold nothing open."""
        if self.wandb:
            self.wandb.close()
            self.wandb = None


def save_images(
    webpage: HTML,
    visuals: dict[str, torch.Tensor],
    image_path: list[str] | str,
    aspect_ratio: float = 1.0,
    width: int = 256,
    name: str | None = None,
) -> None:
    """Test time: save `images/{name}_{label}.png` for every visual and add them as one row of `webpage`.

    `image_path` is the input's path (or the batch's list of paths; the first is used). `name` (from
    `util/result_names.py`, which keeps same-named inputs apart) names the row and the files; by default it
    is the input's file stem, as in the reference. A name with `/` (`a/x`) saves into a sub-folder.
    """
    first_path = image_path if isinstance(image_path, str) else image_path[0]
    name = name or file_stem(first_path)
    webpage.add_header(name)
    files, labels = [], []
    for label, tensor in visuals.items():
        file = f"{name}_{label}.png"
        path = os.path.join(webpage.get_image_dir(), *file.split("/"))
        mkdirs(os.path.dirname(path))
        save_image(tensor2im(tensor), path, aspect_ratio=aspect_ratio)
        files.append(file)
        labels.append(label)
    webpage.add_images(files, labels, files, width=width)
