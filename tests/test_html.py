import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from util.html import CELL_PADDING, HTML
from util.util import save_image
from util.visualizer import save_images


def referenced_files(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_page_references_every_image_relative_to_web_dir(tmp_path):
    page = HTML(str(tmp_path / "web"), "Experiment = demo", refresh=1)
    names = ["a_real.png", "a_fake.png"]
    for value, name in zip((0, 255), names):
        save_image(np.full((4, 6, 3), value, np.uint8), f"{page.get_image_dir()}/{name}")
    page.add_header("a")
    page.add_images(names, ["real", "fake"], names, width=123)
    html = Path(page.save()).read_text()

    assert page.get_image_dir() == str(tmp_path / "web" / "images")
    assert "<title>Experiment = demo</title>" in html
    assert '<meta content="1" http-equiv="refresh">' in html
    assert "<h3>a</h3>" in html and "<p>real</p>" in html and "<p>fake</p>" in html
    assert html.count('style="width:100%; max-width:123px"') == 2
    files = referenced_files(html)
    assert sorted(files) == sorted(2 * [f"images/{n}" for n in names])
    for rel in files:
        assert Image.open(tmp_path / "web" / rel).size == (6, 4)


def test_page_without_refresh_has_no_meta_refresh(tmp_path):
    page = HTML(str(tmp_path), "t")
    assert "refresh" not in Path(page.save()).read_text()


def test_save_images_writes_one_row_named_by_the_input_stem(tmp_path):
    page = HTML(str(tmp_path), "Experiment = demo, Phase = test, Epoch = latest")
    visuals = {"real_A": torch.zeros(1, 3, 8, 8), "fake_B": torch.ones(1, 1, 8, 8)}
    save_images(page, visuals, ["/data/facades/test/12.jpg"], aspect_ratio=2.0, width=64)
    html = Path(page.save()).read_text()

    assert "<h3>12</h3>" in html
    assert referenced_files(html) == ["images/12_real_A.png"] * 2 + ["images/12_fake_B.png"] * 2
    fake = Image.open(tmp_path / "images" / "12_fake_B.png")
    assert fake.size == (16, 8)  # --aspect_ratio 2 doubles the width
    assert np.asarray(fake.convert("RGB"))[4, 8].tolist() == [255, 255, 255]
    assert np.asarray(Image.open(tmp_path / "images" / "12_real_A.png"))[4, 8].tolist() == [127, 127, 127]


def test_save_images_accepts_a_single_path_string(tmp_path):
    page = HTML(str(tmp_path), "t")
    save_images(page, {"fake": torch.zeros(1, 3, 4, 4)}, "C:\\data\\test\\photo 1.png")
    assert (tmp_path / "images" / "photo 1_fake.png").is_file()


def test_a_wide_row_shrinks_to_the_window_and_a_narrow_one_keeps_full_size(tmp_path):
    """CycleGAN's 8 visuals at 256 px need 2048 px: the row takes the window's width at most, each image an
    equal share of it up to 256 px, so the row fits any page width without scrolling sideways."""
    page = HTML(str(tmp_path), "t")
    page.add_images(
        [f"{i}.png" for i in range(8)], [str(i) for i in range(8)], [f"{i}.png" for i in range(8)], 256
    )
    page.add_images(["loss.png"], ["losses"], ["loss.png"], width=720)
    html = Path(page.save()).read_text()

    tables = re.findall(r'<table border="1" style="([^"]+)">', html)
    assert tables == [
        f"table-layout: fixed; width: 100%; max-width: {8 * (256 + CELL_PADDING)}px;",
        f"table-layout: fixed; width: 100%; max-width: {720 + CELL_PADDING}px;",
    ]
    assert html.count('style="width:100%; max-width:256px"') == 8
    assert html.count('style="width:100%; max-width:720px"') == 1
