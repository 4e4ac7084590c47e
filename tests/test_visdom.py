"""The visdom display against a real visdom server (the `visdom_server` fixture in conftest.py)."""

import base64
import io
import json
import uuid

import pytest
import torch
from PIL import Image

from util.visualizer import Visualizer

visdom = pytest.importorskip("visdom")


def read_windows(port: int, env: str) -> dict:
    client = visdom.Visdom(server="http://127.0.0.1", port=port, env=env, use_incoming_socket=False)
    return json.loads(client.get_window_data(env=env))


def decode_png(src: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))


def three_visuals() -> dict[str, torch.Tensor]:
    return {
        name: torch.full((1, 3, 16, 16), v)
        for name, v in (("real_A", -1.0), ("fake_B", 0.0), ("real_B", 1.0))
    }


def visdom_opt(display_opt, port, **overrides):
    env = f"test_{uuid.uuid4().hex[:8]}"  # a fresh env per test: windows from other tests stay out
    settings = dict(display_id=1, display_server="http://127.0.0.1", display_port=port, display_env=env)
    return display_opt(**{**settings, **overrides})


@pytest.mark.slow
def test_images_grid_labels_and_loss_plot_reach_the_server(display_opt, visdom_server, capsys):
    opt = visdom_opt(display_opt, visdom_server, display_ncols=2)
    vis = Visualizer(opt)
    vis.display_current_results(three_visuals(), 1, save_result=False)
    for step, (g, d) in enumerate([(0.9, 0.5), (0.7, 0.4), (0.6, 0.3)], start=1):
        vis.plot_current_losses(1, step / 4, {"G_GAN": g, "D_real": d})
    windows = read_windows(visdom_server, opt.display_env)

    assert sorted(windows) == ["1", "2", "3"]
    plot = windows["1"]
    assert plot["type"] == "plot" and plot["title"] == "demo loss over time"
    traces = {trace["name"]: trace for trace in plot["content"]["data"]}
    assert sorted(traces) == ["D_real", "G_GAN"]
    assert traces["G_GAN"]["x"] == [1.25, 1.5, 1.75]
    assert traces["G_GAN"]["y"] == pytest.approx([0.9, 0.7, 0.6])
    assert traces["D_real"]["y"] == pytest.approx([0.5, 0.4, 0.3])

    images = windows["2"]
    assert images["type"] == "image" and images["title"] == "demo images"
    grid = decode_png(images["content"]["src"]).convert("RGB")
    tile = 16 + 2 * 2  # visdom pads every tile by 2 px on each side
    assert grid.size == (2 * tile, 2 * tile)  # 2 x 2 tiles, the last one white filler
    center = tile // 2
    assert grid.getpixel((center, center)) == (0, 0, 0)  # real_A = -1
    assert grid.getpixel((center + tile, center)) == (127, 127, 127)  # fake_B = 0
    assert grid.getpixel((center, center + tile)) == (255, 255, 255)  # real_B = 1
    assert grid.getpixel((center + tile, center + tile)) == (255, 255, 255)  # filler

    labels = windows["3"]["content"]
    assert "<td>real_A</td><td>fake_B</td></tr><tr><td>real_B</td><td></td>" in labels
    assert "warning" not in capsys.readouterr().err


@pytest.mark.slow
def test_ncols_zero_gives_one_window_per_image(display_opt, visdom_server):
    opt = visdom_opt(display_opt, visdom_server, display_ncols=0, display_id=5)
    Visualizer(opt).display_current_results(three_visuals(), 1, save_result=False)
    windows = read_windows(visdom_server, opt.display_env)
    assert {win: w["title"] for win, w in windows.items()} == {"6": "real_A", "7": "fake_B", "8": "real_B"}


@pytest.mark.slow
def test_single_loss_plot(display_opt, visdom_server):
    opt = visdom_opt(display_opt, visdom_server)
    vis = Visualizer(opt)
    vis.plot_current_losses(2, 0.0, {"G_L1": 3.0})
    vis.plot_current_losses(2, 0.5, {"G_L1": 2.0})
    (trace,) = read_windows(visdom_server, opt.display_env)["1"]["content"]["data"]
    assert (trace["name"], trace["x"], trace["y"]) == ("G_L1", [2.0, 2.5], [3.0, 2.0])


def test_no_server_warns_once_and_training_goes_on(display_opt, tmp_path, free_port, capsys):
    port = free_port()
    vis = Visualizer(visdom_opt(display_opt, port))
    vis.display_current_results(three_visuals(), 1, save_result=True)
    vis.plot_current_losses(1, 0.5, {"G": 1.0})
    vis.print_current_losses(1, 1, {"G": 1.0}, 0.0, 0.0)

    (message,) = capsys.readouterr().err.splitlines()  # one line, nothing else
    assert message.startswith("warning: no visdom server answers at ")
    assert f"http://127.0.0.1:{port}" in message
    assert "--display_server/--display_port" in message
    assert "python -m visdom.server" in message and "--display_id 0" in message
    web = tmp_path / "checkpoints" / "demo" / "web"
    assert (web / "images" / "epoch001_fake_B.png").is_file() and (
        web / "images" / "loss_curves.png"
    ).is_file()


@pytest.mark.slow
def test_server_lost_mid_run_warns_once_then_stays_quiet(display_opt, visdom_server, free_port, capsys):
    vis = Visualizer(visdom_opt(display_opt, visdom_server))
    vis.plot_current_losses(1, 0.1, {"G": 1.0})
    vis.visdom.client.port = free_port()  # as if the server went away
    for step in range(3):
        vis.display_current_results(three_visuals(), 1, save_result=False)
        vis.plot_current_losses(1, 0.2 + step / 10, {"G": 1.0})

    (message,) = capsys.readouterr().err.splitlines()
    assert "lost the visdom server" in message
    assert len(vis.history) == 4  # the gallery's loss chart still gets every point


def test_validation_scores_get_their_own_window(display_opt, visdom_server):
    opt = visdom_opt(display_opt, visdom_server, display_id=3)
    vis = Visualizer(opt)
    vis.plot_metrics(1, {"l1": 0.25, "psnr": 12.5})
    vis.plot_metrics(2, {"l1": 0.125, "psnr": 14.0})
    plot = read_windows(visdom_server, opt.display_env)["3_metrics"]
    assert plot["title"] == "demo validation"
    traces = {trace["name"]: trace for trace in plot["content"]["data"]}
    assert traces["psnr"]["x"] == [1, 2] and traces["psnr"]["y"] == pytest.approx([12.5, 14.0])
    assert traces["l1"]["y"] == pytest.approx([0.25, 0.125])
