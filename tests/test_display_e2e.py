"""Display backends driven by a real training run: visdom (real server), no server, wandb (offline)."""

import uuid

import pytest

from tests.test_train_e2e import train
from tests.test_visdom import read_windows
from tests.test_wandb import history_rows

pytestmark = pytest.mark.slow  # end to end: real command lines in subprocesses


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    from data.builtin import make_paired_dataset

    return make_paired_dataset(
        str(tmp_path_factory.mktemp("paired") / "facades"), n_train=8, n_val=1, n_test=1, size=32
    )


def train_with_display(paired, tmp_path, *flags):
    return train(
        paired,
        tmp_path / "ck",
        "show",
        *flags,
        "--display_freq",
        "4",
        "--print_freq",
        "4",
        "--n_epochs_decay",
        "0",
    )


def test_training_sends_images_and_losses_to_a_visdom_server(paired, tmp_path, visdom_server):
    env = f"train_{uuid.uuid4().hex[:8]}"
    done = train_with_display(
        paired,
        tmp_path,
        "--display_id",
        "1",
        "--display_server",
        "http://127.0.0.1",
        "--display_port",
        str(visdom_server),
        "--display_env",
        env,
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    windows = read_windows(visdom_server, env)
    plot, images = windows["1"], windows["2"]
    assert plot["type"] == "plot"
    traces = {trace["name"]: trace for trace in plot["content"]["data"]}
    assert sorted(traces) == ["D_fake", "D_real", "G_GAN", "G_L1"]
    assert len(traces["G_L1"]["y"]) == 2  # 8 images, printed every 4
    assert images["type"] == "image"


def test_training_without_a_visdom_server_warns_once_and_completes(paired, tmp_path, free_port):
    done = train_with_display(paired, tmp_path, "--display_id", "1", "--display_port", str(free_port()))
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "visdom" in line]
    assert len(warnings) == 1 and "--display_id 0" in warnings[0]
    assert (tmp_path / "ck" / "show" / "latest_net_G.pth").exists()


def test_training_logs_losses_and_images_to_wandb_offline(paired, tmp_path):
    pytest.importorskip("wandb")
    env = {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true"}
    flags = [
        "--n_epochs_decay",
        "0",
        "--display_freq",
        "4",
        "--print_freq",
        "4",
        "--use_wandb",
        "--wandb_project_name",
        "e2e",
    ]
    done = train(paired, tmp_path / "ck", "wb", *flags, env=env)
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    rows = history_rows(next(run_dir.glob("run-*.wandb")))
    loss_rows = [row for row in rows if "G_L1" in row]
    assert len(loss_rows) == 2 and float(loss_rows[0]["G_L1"]) > 0
    assert any("fake_B/_type" in row for row in rows)
    assert list((run_dir / "files" / "media" / "images").glob("fake_B_*.png"))
