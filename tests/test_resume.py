"""Checkpoint sets and resume, by values: interrupted and failed saves, Ctrl-C, exact resume with DataLoader
workers, resume into another batch size / dataset / process count, numbered epochs without train state.

Runs are in-process (train.main) on 12 tiny pix2pix pairs; each takes a few seconds on one core.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import shutil
import signal
from pathlib import Path

import pytest
import torch

import train
from data.builtin import make_paired_dataset
from data.loader import DataLoaderWrapper
from models import checkpoint_set
from models.networks import define_D, define_G

pytestmark = pytest.mark.slow

BASE = ["--model", "pix2pix", "--load_size", "36", "--crop_size", "32", "--n_epochs", "1", "--n_epochs_decay", "1",
        "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--norm", "instance", "--display_id", "0",
        "--print_freq", "4", "--save_epoch_freq", "100", "--no_html"]  # fmt: skip
NETS = ("G", "D")
EPOCH_SAVES = ["--save_epoch_freq", "1"]  # `latest` and a numbered save at the end of each epoch


class Killed(BaseException):
    """The process dying (kill -9, power loss) at a chosen point of a save."""


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("paired") / "facades"
    return Path(make_paired_dataset(str(root), n_train=12, n_val=1, n_test=1, size=36))


def run(data: Path, ck: Path, name: str, *extra: str, workers: str | None = "0") -> int:
    argv = ["--dataroot", str(data), "--name", name, "--checkpoints_dir", str(ck), *BASE]
    return train.main(argv + (["--num_threads", workers] if workers is not None else []) + list(extra))


@pytest.fixture
def seen(monkeypatch) -> dict[int, list[str]]:
    """The A paths each epoch trains on, recorded as the loader yields them."""
    record: dict[int, list[str]] = {}
    plain_iter = DataLoaderWrapper.__iter__

    def iterate(self):
        for batch in plain_iter(self):
            record.setdefault(self.sampler.epoch, []).extend(batch["A_paths"])
            yield batch

    monkeypatch.setattr(DataLoaderWrapper, "__iter__", iterate)
    return record


def assert_same_weights(a: Path, b: Path, label: str = "latest") -> None:
    for net in NETS:
        wa, wb = (torch.load(d / f"{label}_net_{net}.pth", weights_only=True) for d in (a, b))
        assert wa.keys() == wb.keys()
        for key in wa:
            assert torch.equal(wa[key], wb[key]), f"{label}_net_{net}.pth: {key} differs"


def copy_label(src: Path, dst: Path, label: str) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.glob(f"{label}_*"):
        shutil.copy(f, dst / f.name)


def fail_on_call(n: int, action):
    """A stand-in for a function that does ``action`` on its n-th call (0-based) and the real thing otherwise."""
    calls = itertools.count()

    def wrap(real):
        def f(*args):
            return action(*args) if next(calls) == n else real(*args)

        return f

    return wrap


# -- 1. a checkpoint is a set ---------------------------------------------------------------------------------
def test_save_killed_between_files_keeps_the_previous_set_and_resume_matches_a_straight_run(
    data, tmp_path, monkeypatch, capsys
):
    ck = tmp_path / "ck"
    assert run(data, ck, "straight") == 0

    def die(obj, path):
        Path(path + ".tmp").write_bytes(b"half a file")
        raise Killed

    # epoch 1 ends with 5 writes (latest: G, D, train state; 1: G, D); the 7th is latest_net_D of epoch 2
    monkeypatch.setattr(checkpoint_set, "_write_tmp", fail_on_call(6, die)(checkpoint_set._write_tmp))
    with pytest.raises(Killed):
        run(data, ck, "killed", *EPOCH_SAVES)
    monkeypatch.undo()
    run_dir = ck / "killed"
    assert not list(run_dir.glob("*.tmp"))
    assert json.loads((run_dir / "latest_manifest.json").read_text())["epoch"] == 2  # the epoch-1 set, whole
    capsys.readouterr()
    assert run(data, ck, "killed", *EPOCH_SAVES, "--continue_train") == 0
    assert "resuming at epoch 2, 12 images seen (full training state restored)" in capsys.readouterr().out
    assert_same_weights(ck / "straight", run_dir)


def test_save_killed_between_its_renames_is_finished_by_the_resume(data, tmp_path, monkeypatch, capsys):
    ck = tmp_path / "ck"
    assert run(data, ck, "straight") == 0

    def rename_one_then_die(save_dir, manifest):
        first = next(iter(manifest["files"]))
        os.replace(os.path.join(save_dir, first + ".tmp"), os.path.join(save_dir, first))
        raise Killed

    # commits: latest and 1 at the end of epoch 1, then latest of epoch 2
    commit = fail_on_call(2, rename_one_then_die)(checkpoint_set._commit)
    monkeypatch.setattr(checkpoint_set, "_commit", commit)
    with pytest.raises(Killed):
        run(data, ck, "killed", *EPOCH_SAVES)
    monkeypatch.undo()
    assert sorted(p.name for p in (ck / "killed").glob("*.tmp")) == [
        "latest_net_D.pth.tmp",
        "latest_train_state.pth.tmp",
    ]
    capsys.readouterr()
    assert run(data, ck, "killed", *EPOCH_SAVES, "--continue_train") == 0
    out = capsys.readouterr().out
    assert "finished the interrupted save of 'latest': latest_net_D.pth, latest_train_state.pth" in out
    assert "resuming at epoch 3, 24 images seen" in out  # the run had ended: nothing left to train
    assert_same_weights(ck / "straight", ck / "killed")


def test_weights_from_another_save_are_caught_and_resume_falls_back_loudly(data, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert run(data, ck, "other") == 0
    assert run(data, ck, "half", "--n_epochs_decay", "0") == 0
    shutil.copy(ck / "other" / "latest_net_D.pth", ck / "half" / "latest_net_D.pth")  # a hand copy
    capsys.readouterr()
    assert run(data, ck, "half", "--continue_train") == 0
    out, err = capsys.readouterr()
    assert "warning: latest_train_state.pth belongs to save " in err
    assert "but latest_net_D.pth is missing or from another save" in err
    assert "optimizers restart and epochs count from --epoch_count 1" in err
    assert "add --epoch_count 2" in err and "full training state restored" not in out


def test_disk_full_during_a_save_is_one_error_naming_the_intact_files(data, tmp_path, monkeypatch, capsys):
    ck = tmp_path / "ck"
    assert run(data, ck, "straight") == 0

    def disk_full(obj, path):
        Path(path + ".tmp").write_bytes(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint_set, "_write_tmp", fail_on_call(6, disk_full)(checkpoint_set._write_tmp))
    capsys.readouterr()
    assert run(data, ck, "full", *EPOCH_SAVES) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(
        f"error: cannot save checkpoint 'latest' in {ck / 'full'}: the disk is full (writing latest_net_D.pth)"
    )
    assert "the previous 'latest' files are intact: latest_manifest.json, latest_net_D.pth, latest_net_G.pth, latest_train_state.pth" in err  # fmt: skip
    assert not list((ck / "full").glob("*.tmp"))
    monkeypatch.undo()
    assert run(data, ck, "full", *EPOCH_SAVES, "--continue_train") == 0  # the intact set resumes exactly
    assert_same_weights(ck / "straight", ck / "full")


def test_read_only_folder_is_one_error(data, tmp_path, capsys, read_only):
    """A real read-only mount (as root, chmod does not stop writes): one line, no traceback, nothing written."""
    ck = tmp_path / "ck"
    assert run(data, ck, "ro", "--n_epochs_decay", "0") == 0
    before = {p.name: p.stat().st_mtime_ns for p in (ck / "ro").iterdir()}
    read_only(ck / "ro")
    capsys.readouterr()
    assert run(data, ck, "ro", "--continue_train") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: cannot write {ck / 'ro'}") and "read-only file system" in err, err
    assert {p.name: p.stat().st_mtime_ns for p in (ck / "ro").iterdir()} == before


# -- Ctrl-C ----------------------------------------------------------------------------------------------------
def ctrl_c_after(monkeypatch, batches: int, presses: int) -> None:
    plain_iter = DataLoaderWrapper.__iter__

    def iterate(self):
        for i, batch in enumerate(plain_iter(self)):
            if self.sampler.epoch == 1 and i == batches:
                for _ in range(presses):
                    signal.raise_signal(signal.SIGINT)
            yield batch

    monkeypatch.setattr(DataLoaderWrapper, "__iter__", iterate)


def test_ctrl_c_saves_latest_and_the_run_resumes_exactly(data, tmp_path, monkeypatch, capsys):
    ck = tmp_path / "ck"
    assert run(data, ck, "straight") == 0
    ctrl_c_after(monkeypatch, batches=5, presses=1)
    capsys.readouterr()
    assert run(data, ck, "stopped") == 130
    out = capsys.readouterr().out
    assert "saving the latest model before stopping (epoch 1, total_iters 6)" in out  # the 6th step finished
    monkeypatch.undo()
    assert run(data, ck, "stopped", "--continue_train") == 0
    assert "resuming at epoch 1, 6 images seen" in capsys.readouterr().out
    assert_same_weights(ck / "straight", ck / "stopped")


def test_a_second_ctrl_c_stops_at_once_without_saving(data, tmp_path, monkeypatch, capsys):
    ctrl_c_after(monkeypatch, batches=5, presses=2)
    assert run(data, tmp_path / "ck", "stopped") == 130
    assert "interrupted" in capsys.readouterr().err
    assert not list((tmp_path / "ck" / "stopped").glob("latest_*"))


# -- 2. exact resume with the default DataLoader workers --------------------------------------------------------
def test_mid_epoch_resume_with_default_workers_is_bit_identical(data, tmp_path):
    """Random crops and flips in 4 worker processes (the default --num_threads), dropout, resumed mid epoch 2."""
    ck, flags = tmp_path / "ck", ["--save_by_iter", "--save_latest_freq", "16"]
    assert run(data, ck, "straight", *flags, workers=None) == 0
    copy_label(ck / "straight", ck / "resumed", "iter_16")
    assert run(data, ck, "resumed", *flags, "--continue_train", "--load_iter", "16", workers=None) == 0
    assert_same_weights(ck / "straight", ck / "resumed")


# -- 3. resume checks what it resumes into ----------------------------------------------------------------------
def test_two_process_checkpoint_resumed_by_one_process_ends_the_epoch_at_the_right_image(
    data, tmp_path, seen, capsys
):
    ck = tmp_path / "ck"
    assert run(data, ck, "straight", "--save_by_iter", "--save_latest_freq", "6") == 0
    order = list(seen[1])
    # What 2 processes x batch 1 would have saved after 3 steps: 6 images of epoch 1 done, a state per rank.
    copy_label(ck / "straight", ck / "resumed", "iter_6")
    path = ck / "resumed" / "iter_6_train_state.pth"
    state = torch.load(path, weights_only=True)
    progress = state["progress"]
    progress.update(
        world_size=2, rng_per_rank=progress["rng_per_rank"] * 2, pools_per_rank=progress["pools_per_rank"] * 2
    )
    torch.save(state, path)
    seen.clear()
    capsys.readouterr()
    assert run(data, ck, "resumed", "--continue_train", "--load_iter", "6") == 0
    out = capsys.readouterr().out
    assert "in batches of 1 x 1 process(es) (the checkpoint's: 1 x 2)" in out
    assert seen[1] == order[6:]  # the rest of epoch 1, each image once
    log = (ck / "resumed" / "loss_log.txt").read_text()
    assert "(epoch: 1, iters: 12," in log and "(epoch: 1, iters: 16," not in log


def test_resume_with_another_batch_size_continues_at_the_right_image(data, tmp_path, seen, capsys):
    ck = tmp_path / "ck"
    assert run(data, ck, "straight", "--batch_size", "2", "--save_by_iter", "--save_latest_freq", "8") == 0
    order = list(seen[1])
    copy_label(ck / "straight", ck / "resumed", "iter_8")
    seen.clear()
    capsys.readouterr()
    assert run(data, ck, "resumed", "--batch_size", "3", "--continue_train", "--load_iter", "8") == 0
    assert (
        "note: continuing epoch 1 at image 8 in batches of 3 x 1 process(es) (the checkpoint's: 2 x 1)"
        in capsys.readouterr().out
    )
    assert seen[1] == order[8:] and sorted(seen[2]) == sorted(order)


def test_resume_with_fewer_images_says_what_it_does(data, tmp_path, seen, capsys):
    ck, fewer = tmp_path / "ck", tmp_path / "fewer"
    shutil.copytree(data, fewer)
    assert run(fewer, ck, "run", "--batch_size", "2", "--save_by_iter", "--save_latest_freq", "8") == 0
    for image in sorted((fewer / "train").iterdir())[
        :2
    ]:  # e.g. a bad file removed, as an error message advises
        image.unlink()
    seen.clear()
    capsys.readouterr()
    assert run(fewer, ck, "run", "--batch_size", "2", "--continue_train", "--load_iter", "8") == 0
    err = capsys.readouterr().err
    assert (
        "warning: the training set has 10 images (after --max_dataset_size), 12 when epoch 1 was interrupted"
        in err
    )
    assert len(seen[1]) == 2 and len(seen[2]) == 10  # epoch 1 ends at its 10th image; epoch 2 is whole


def test_resume_with_a_lower_max_dataset_size_says_what_it_does(data, tmp_path, seen, capsys):
    ck = tmp_path / "ck"
    assert run(data, ck, "run", "--batch_size", "2", "--save_by_iter", "--save_latest_freq", "8") == 0
    seen.clear()
    capsys.readouterr()
    argv = ["--batch_size", "2", "--max_dataset_size", "10", "--continue_train", "--load_iter", "8"]
    assert run(data, ck, "run", *argv) == 0
    assert (
        "warning: the training set has 10 images (after --max_dataset_size), 12 when"
        in capsys.readouterr().err
    )
    assert len(seen[1]) == 2 and len(seen[2]) == 10  # no StopIteration, no image skipped in epoch 2


def test_new_run_into_an_existing_name_warns_before_it_rewrites_anything(data, tmp_path, monkeypatch, capsys):
    ck = tmp_path / "ck"
    assert run(data, ck, "taken", "--n_epochs_decay", "0") == 0
    architecture = (ck / "taken" / "architecture.json").read_text()
    capsys.readouterr()
    errors_when_options_are_saved = []

    def save_options(*args):
        errors_when_options_are_saved.append(capsys.readouterr().err)
        raise Killed  # look no further: the first file written is train_opt.txt

    monkeypatch.setattr(train, "save_options", save_options)
    with pytest.raises(Killed):
        run(data, ck, "taken", "--ngf", "8")
    warning = errors_when_options_are_saved[0]
    assert f"warning: {ck / 'taken'} already holds a run (latest_manifest.json, latest_net_D.pth" in warning
    assert "use another --name" in warning and "add --continue_train" in warning
    assert (ck / "taken" / "architecture.json").read_text() == architecture


# -- 11. disk use -----------------------------------------------------------------------------------------------
def test_numbered_epochs_hold_reference_weights_only_and_resume_the_reference_way(data, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert run(data, ck, "run", "--save_epoch_freq", "1") == 0
    files = {p.name for p in (ck / "run").iterdir()}
    assert {"1_net_G.pth", "1_net_D.pth", "2_net_G.pth", "latest_train_state.pth"} <= files
    assert not {"1_train_state.pth", "2_train_state.pth"} & files
    manifest = json.loads((ck / "run" / "1_manifest.json").read_text())
    assert sorted(manifest["files"]) == ["1_net_D.pth", "1_net_G.pth"] and manifest["epoch"] == 2
    # The reference loads these files as they are: plain state_dicts, its keys, strict=True.
    define_G(3, 3, 4, "resnet_6blocks", "instance", True).load_state_dict(
        torch.load(ck / "run" / "1_net_G.pth")
    )
    define_D(6, 4, "basic", 3, "instance").load_state_dict(torch.load(ck / "run" / "1_net_D.pth"))
    capsys.readouterr()
    assert run(data, ck, "run", "--continue_train", "--epoch", "1") == 0
    out = capsys.readouterr().out
    assert "'1' holds weights only" in out and "add --epoch_count 2 to go on with its schedule" in out


def test_keep_train_states_keeps_the_last_k_numbered_states(data, tmp_path):
    ck = tmp_path / "ck"
    assert run(data, ck, "run", "--save_epoch_freq", "1", "--n_epochs", "2", "--keep_train_states", "2") == 0
    states = sorted(p.name for p in (ck / "run").glob("*_train_state.pth"))
    assert states == ["2_train_state.pth", "3_train_state.pth", "latest_train_state.pth"]
    assert "1_train_state.pth" not in json.loads((ck / "run" / "1_manifest.json").read_text())["files"]
