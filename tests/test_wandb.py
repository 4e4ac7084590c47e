"""wandb logging, run offline into tmp_path and read back from the run's own files."""

import struct
import sys
from types import SimpleNamespace

import pytest
import torch

from util.errors import UserError
from util.visualizer import Visualizer
from util.wandb_display import WandbDisplay, json_safe

# A .wandb file is a 7-byte W&B header, then a LevelDB-style log: 32 KiB blocks of chunks, each with a
# 7-byte header (crc32, length, type), chunk types FULL=1 or FIRST=2 / MIDDLE=3 / LAST=4 of one record.
WANDB_FILE_HEADER = 7
BLOCK = 32768
CHUNK_HEADER = struct.Struct("<IHB")
RECORD_ENDS = (1, 4)


def wandb_records(path):
    from wandb.proto import wandb_internal_pb2

    data, pos, pending = path.read_bytes(), WANDB_FILE_HEADER, b""
    while pos + CHUNK_HEADER.size <= len(data):
        if BLOCK - pos % BLOCK < CHUNK_HEADER.size:  # block trailer too short for a header: zero padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = CHUNK_HEADER.unpack_from(data, pos)
        pending += data[pos + CHUNK_HEADER.size : pos + CHUNK_HEADER.size + length]
        pos += CHUNK_HEADER.size + length
        if kind in RECORD_ENDS:
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def run_record(path):
    return next(r.run for r in wandb_records(path) if r.WhichOneof("record_type") == "run")


def history_rows(path) -> list[dict[str, str]]:
    """Each wandb.log call as {key: JSON value}, nested keys joined with '/'."""
    return [
        {item.key or "/".join(item.nested_key): item.value_json for item in record.history.item}
        for record in wandb_records(path)
        if record.WhichOneof("record_type") == "history"
    ]


@pytest.mark.slow
def test_losses_images_and_config_land_in_the_offline_run(display_opt, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    opt = display_opt(use_wandb=True, no_html=True, wandb_project_name="unit", max_dataset_size=float("inf"))
    vis = Visualizer(opt)
    vis.plot_current_losses(1, 0.5, {"G_GAN": 0.795, "D_real": 0.25})
    vis.display_current_results({"fake_B": torch.zeros(1, 3, 8, 8)}, 1, save_result=False)
    vis.close()

    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    run_file = next(run_dir.glob("run-*.wandb"))
    run = run_record(run_file)
    assert (run.project, run.display_name) == ("unit", "demo")
    config = {item.key: item.value_json for item in run.config.update}
    assert config["max_dataset_size"] == '"inf"' and config["display_ncols"] == "4"
    rows = history_rows(run_file)
    assert rows[0]["G_GAN"] == "0.795" and rows[0]["D_real"] == "0.25" and rows[0]["epoch"] == "1.5"
    assert rows[1]["fake_B/_type"] == '"image-file"' and rows[1]["fake_B/width"] == "8"
    (image,) = (run_dir / "files" / "media" / "images").glob("fake_B_*.png")
    assert image.stat().st_size > 0


def test_missing_wandb_package_is_a_user_error(display_opt, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # makes `import wandb` raise ImportError
    with pytest.raises(UserError, match=r"pip install wandb, or drop --use_wandb"):
        Visualizer(display_opt(use_wandb=True, no_html=True))


def test_config_is_made_json_safe():
    config = {"max_dataset_size": float("inf"), "lr": 2e-4, "gpu_ids": (0, 1), "isTrain": True, "x": None}
    assert json_safe(config) == {
        "max_dataset_size": "inf",
        "lr": 2e-4,
        "gpu_ids": [0, 1],
        "isTrain": True,
        "x": None,
    }
    assert json_safe({"dataroot": object})["dataroot"] == "<class 'object'>"


def test_validation_scores_are_logged_under_val():
    # A stub run: a second offline wandb run in one process reuses the first one's settings and folder.
    logged = []
    display = WandbDisplay.__new__(WandbDisplay)
    display.run = SimpleNamespace(log=logged.append)
    display.log_metrics({"l1_A": 0.125, "psnr_A": 14.5}, 3)
    assert logged == [{"val/l1_A": 0.125, "val/psnr_A": 14.5, "epoch": 3}]
