import re

import numpy as np
import pytest
import torch
from PIL import Image

from util.loss_log import read_loss_log
from util.loss_plot import CHART_WIDTH, COLORS, PANEL_HEIGHT, LossHistory, chart_size, draw_loss_curves
from util.visualizer import Visualizer

HEADER = re.compile(r"^================ Training Loss \(.+\) ================$")


def visuals(value: float) -> dict[str, torch.Tensor]:
    return {"real_A": torch.full((1, 3, 8, 8), value), "fake_B": torch.full((1, 3, 8, 8), -value)}


def pixel(path) -> list[int]:
    return np.asarray(Image.open(path))[0, 0].tolist()


def test_loss_log_has_the_reference_header_and_line_format(display_opt, tmp_path, capsys):
    vis = Visualizer(display_opt())
    vis.print_current_losses(3, 400, {"G_GAN": 0.7951, "G_L1": 12.3, "D_real": 0.0004}, 0.0521, 0.001)
    vis.print_current_losses(3, 800, {"G_GAN": 1.0, "G_L1": 2.0, "D_real": 3.0}, 1.0, 2.0)

    lines = (tmp_path / "checkpoints" / "demo" / "loss_log.txt").read_text().splitlines()
    assert len(lines) == 3
    assert HEADER.match(lines[0])
    first = "(epoch: 3, iters: 400, time: 0.052, data: 0.001) G_GAN: 0.795 G_L1: 12.300 D_real: 0.000 "
    assert lines[1] == first
    assert (
        lines[2] == "(epoch: 3, iters: 800, time: 1.000, data: 2.000) G_GAN: 1.000 G_L1: 2.000 D_real: 3.000 "
    )
    assert first in capsys.readouterr().out


def test_resumed_run_appends_under_a_new_header(display_opt, tmp_path):
    Visualizer(display_opt()).print_current_losses(1, 1, {"G": 1.0}, 0.0, 0.0)
    Visualizer(display_opt()).print_current_losses(2, 1, {"G": 2.0}, 0.0, 0.0)
    lines = (tmp_path / "checkpoints" / "demo" / "loss_log.txt").read_text().splitlines()
    assert [bool(HEADER.match(line)) for line in lines] == [True, False, True, False]


def test_gallery_keeps_each_epoch_newest_first(display_opt, tmp_path):
    vis = Visualizer(display_opt())
    for epoch in (1, 2):
        vis.reset()
        vis.display_current_results(visuals(epoch / 2), epoch, save_result=False)

    web = tmp_path / "checkpoints" / "demo" / "web"
    assert pixel(web / "images" / "epoch001_real_A.png") == [191, 191, 191]
    assert pixel(web / "images" / "epoch002_real_A.png") == [255, 255, 255]
    assert pixel(web / "images" / "epoch002_fake_B.png") == [0, 0, 0]
    html = (web / "index.html").read_text()
    assert html.index("epoch [2]") < html.index("epoch [1]")
    srcs = re.findall(r'src="([^"]+)"', html)
    assert srcs == [f"images/epoch{e:03d}_{label}.png" for e in (2, 1) for label in ("real_A", "fake_B")]
    assert '<meta content="1" http-equiv="refresh">' in html
    assert html.count('style="width:100%; max-width:64px"') == 4


def test_gallery_lists_only_epochs_with_images_across_a_resume(display_opt, tmp_path):
    Visualizer(display_opt()).display_current_results(visuals(0.0), 1, save_result=True)
    # Resumed with --epoch_count 4: epochs 2 and 3 were never displayed, epoch 1 is from the first run.
    Visualizer(display_opt()).display_current_results(visuals(0.0), 4, save_result=True)

    html = (tmp_path / "checkpoints" / "demo" / "web" / "index.html").read_text()
    assert re.findall(r"epoch \[(\d+)\]", html) == ["4", "1"]
    for src in re.findall(r'src="([^"]+)"', html):
        assert (tmp_path / "checkpoints" / "demo" / "web" / src).is_file()


def test_gallery_saves_first_display_of_an_epoch_then_only_when_asked(display_opt, tmp_path):
    vis = Visualizer(display_opt())
    image = tmp_path / "checkpoints" / "demo" / "web" / "images" / "epoch001_real_A.png"
    vis.reset()
    vis.display_current_results(visuals(-1.0), 1, save_result=False)
    assert pixel(image) == [0, 0, 0]
    vis.display_current_results(visuals(1.0), 1, save_result=False)
    assert pixel(image) == [0, 0, 0]  # not the first display of the epoch, and not asked
    vis.display_current_results(visuals(1.0), 1, save_result=True)
    assert pixel(image) == [255, 255, 255]


def test_loss_curves_png_tops_the_gallery_and_follows_the_data(display_opt, tmp_path):
    vis = Visualizer(display_opt())
    vis.display_current_results(visuals(0.0), 1, save_result=True)
    vis.plot_current_losses(1, 0.25, {"G_GAN": 0.8, "D_real": 0.3})
    vis.plot_current_losses(1, 0.5, {"G_GAN": 0.6, "D_real": 0.4})

    web = tmp_path / "checkpoints" / "demo" / "web"
    curves = web / "images" / "loss_curves.png"
    first = np.asarray(Image.open(curves).convert("RGB"))
    assert first.shape == (chart_size(2)[1], CHART_WIDTH, 3)
    html = (web / "index.html").read_text()
    assert html.index('src="images/loss_curves.png"') < html.index("epoch [1]")

    vis.plot_current_losses(1, 0.75, {"G_GAN": 2.0, "D_real": 0.1})
    assert (np.asarray(Image.open(curves).convert("RGB")) != first).any()


def color_pixels(image: Image.Image, color: tuple[int, int, int]) -> int:
    return int((np.asarray(image.convert("RGB")) == color).all(axis=-1).sum())


def color_rows(image: Image.Image, color: tuple[int, int, int]) -> np.ndarray:
    """Indices of the pixel rows where `color` appears."""
    return np.nonzero((np.asarray(image.convert("RGB")) == color).all(axis=-1).any(axis=1))[0]


def test_loss_chart_draws_one_panel_per_loss_each_with_its_own_range():
    history = LossHistory()
    for step in range(20):  # G_L1 falls from 30 to 11; D_real wobbles between 0.2 and 0.4
        history.add(1 + step / 10, {"G_L1": 30.0 - step, "D_real": 0.3 + 0.1 * (-1) ** step, "G_GAN": 0.8})
    chart = draw_loss_curves(history, title="demo: training losses by epoch")
    assert chart.size == chart_size(3) == (CHART_WIDTH, 40 + 2 * PANEL_HEIGHT)  # rows of two panels
    # Each loss draws in its own colour; on one shared axis D_real would be a flat line 2 px high.
    for color in COLORS[:3]:
        assert color_pixels(chart, color) > 200
    d_rows = color_rows(chart, COLORS[1])
    assert d_rows.max() - d_rows.min() > 0.6 * PANEL_HEIGHT
    l1_rows = color_rows(chart, COLORS[0])
    assert l1_rows.max() < 40 + PANEL_HEIGHT  # G_L1 stays in its panel in the first row
    g_rows = color_rows(chart, COLORS[2])  # G_GAN is the third panel: second row
    assert g_rows.min() > 40 + PANEL_HEIGHT
    assert color_pixels(chart, COLORS[3]) == 0


def test_resumed_run_plots_continue_from_the_loss_log(display_opt, tmp_path):
    first = Visualizer(display_opt(), images_per_epoch=10)
    for epoch, iters, g in [(1, 5, 3.0), (1, 10, 2.0), (2, 5, 1.5), (2, 10, 1.0)]:
        first.print_current_losses(epoch, iters, {"G": g, "D": 0.5}, 0.0, 0.0)
        first.plot_current_losses(epoch, iters / 10, {"G": g, "D": 0.5})
    # Resumed from the end of epoch 1: the log's epoch-2 lines are superseded by the new run's.
    resumed = Visualizer(display_opt(continue_train=True), images_per_epoch=10)
    assert resumed.history.x == [1.5, 2.0, 2.5, 3.0]
    resumed.plot_current_losses(2, 0.5, {"G": 0.7, "D": 0.4})
    assert resumed.history.x == [1.5, 2.0, 2.5]
    assert resumed.history.series("G") == [(1.5, 3.0), (2.0, 2.0), (2.5, 0.7)]
    assert Visualizer(display_opt(), images_per_epoch=10).history.x == []  # a fresh run starts empty


def test_loss_log_reads_back_every_loss_line(tmp_path, display_opt):
    vis = Visualizer(display_opt())
    vis.print_current_losses(3, 400, {"G_GAN": 0.7951, "D_real": float("nan")}, 0.05, 0.001)
    Visualizer(display_opt()).print_current_losses(4, 8, {"G_GAN": 1.0, "D_real": 2.0}, 0.0, 0.0)
    entries = read_loss_log(str(tmp_path / "checkpoints" / "demo" / "loss_log.txt"))
    assert [(e, i) for e, i, _ in entries] == [(3, 400), (4, 8)]
    assert entries[0][2]["G_GAN"] == 0.795 and np.isnan(entries[0][2]["D_real"])
    assert entries[1][2] == {"G_GAN": 1.0, "D_real": 2.0}


class FakeModel:
    def __init__(self, value: float, stepped: bool = True):
        self.value, self.stepped = value, stepped

    def get_image_paths(self):
        return ["x.png"] if self.stepped else []

    def compute_visuals(self):
        pass

    def get_current_visuals(self):
        return visuals(self.value)


def test_epoch_end_saves_the_last_visuals_only_when_the_epoch_showed_none(display_opt, tmp_path):
    vis = Visualizer(display_opt())
    images = tmp_path / "checkpoints" / "demo" / "web" / "images"
    vis.reset()
    vis.save_epoch_end(1, FakeModel(-1.0))  # shorter than --display_freq: nothing displayed yet
    assert pixel(images / "epoch001_real_A.png") == [0, 0, 0]
    vis.reset()
    vis.display_current_results(visuals(1.0), 2, save_result=False)
    vis.save_epoch_end(2, FakeModel(-1.0))  # epoch 2 already has its row: left as displayed
    assert pixel(images / "epoch002_real_A.png") == [255, 255, 255]
    vis.reset()
    vis.save_epoch_end(3, FakeModel(-1.0, stepped=False))  # no step ran: nothing to show
    assert not (images / "epoch003_real_A.png").exists()
    html = (tmp_path / "checkpoints" / "demo" / "web" / "index.html").read_text()
    assert re.findall(r"epoch \[(\d+)\]", html) == ["2", "1"]


def test_loss_history_fixes_names_at_first_call_and_skips_missing_values():
    history = LossHistory()
    history.add(1.0, {"a": 1.0, "b": 2.0})
    history.add(1.5, {"a": 3.0})
    assert history.names == ["a", "b"]
    assert history.series("a") == [(1.0, 1.0), (1.5, 3.0)]
    assert history.series("b") == [(1.0, 2.0)]


def test_other_ranks_write_and_print_nothing(display_opt, tmp_path, capsys):
    vis = Visualizer(display_opt(display_id=1, use_wandb=True), is_main_process=False)
    vis.reset()
    vis.display_current_results(visuals(0.0), 1, save_result=True)
    vis.plot_current_losses(1, 0.5, {"G": 1.0})
    vis.print_current_losses(1, 10, {"G": 1.0}, 0.1, 0.1)
    vis.close()
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr() == ("", "")


def test_no_html_skips_the_gallery_but_keeps_the_log(display_opt, tmp_path):
    vis = Visualizer(display_opt(no_html=True))
    vis.display_current_results(visuals(0.0), 1, save_result=True)
    vis.plot_current_losses(1, 0.5, {"G": 1.0})
    assert sorted(p.name for p in (tmp_path / "checkpoints" / "demo").iterdir()) == ["loss_log.txt"]


@pytest.mark.parametrize("display_id", [0, -1])
def test_visdom_off_when_display_id_is_not_positive(display_opt, display_id, capsys):
    vis = Visualizer(display_opt(display_id=display_id))
    assert vis.visdom is None
    assert "visdom" not in capsys.readouterr().err


def test_test_phase_opens_no_log_and_no_visdom(display_opt, tmp_path):
    vis = Visualizer(display_opt(isTrain=False, phase="test", display_id=1))
    assert vis.visdom is None
    assert not (tmp_path / "checkpoints").exists()
