"""The shared plumbing of the entry points: the registries, the `error: ... / exit 2` runner, rank-0 printing."""

from __future__ import annotations

import errno

import pytest

import util.distributed as distributed
from data import DATASETS, create_dataset
from models import MODELS, create_model
from util.cli import run_cli
from util.errors import UserError
from util.registry import Registry


def test_registry_reads_like_a_dict_and_refuses_a_second_class_under_one_name():
    things = Registry("--thing")

    @things.register("a")
    class A:
        pass

    assert things["a"] is A and things.get("a") is A and "a" in things and list(things) == ["a"]
    with pytest.raises(ValueError, match=r"--thing 'a' is registered twice \(A, B\)"):

        @things.register("a")
        class B:
            pass

    assert things["a"] is A  # the first registration stands


def test_unknown_names_are_one_line_user_errors_listing_the_choices(tmp_path):
    with pytest.raises(
        UserError, match=r"^--model pix3pix is unknown; choose one of: colorization, cycle_gan, "
    ):
        create_model(type("Opt", (), {"model": "pix3pix"})())
    with pytest.raises(UserError, match=r"^--dataset_mode paired is unknown; choose one of: aligned, "):
        create_dataset(type("Opt", (), {"dataset_mode": "paired"})())


def test_every_model_and_dataset_mode_is_registered_by_explicit_import():
    assert sorted(MODELS) == ["colorization", "cycle_gan", "pix2pix", "template", "test"]
    assert sorted(DATASETS) == ["aligned", "colorization", "single", "template", "unaligned"]


def test_run_cli_turns_a_user_error_into_one_line_and_exit_status_2(capsys):
    def bad() -> None:
        raise UserError("--crop_size 300 is larger than --load_size 286; lower --crop_size")

    assert run_cli(bad) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", "error: --crop_size 300 is larger than --load_size 286; lower --crop_size\n")
    assert run_cli(lambda: print("ran")) == 0
    assert capsys.readouterr().out == "ran\n"


def test_run_cli_keeps_the_traceback_of_a_bug():
    def buggy() -> None:
        raise KeyError("not a user mistake")

    with pytest.raises(KeyError):
        run_cli(buggy)


def test_run_cli_turns_an_unwritable_folder_into_one_line_and_keeps_other_os_errors(capsys):
    def full_disk() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/ck/run/train_opt.txt")

    assert run_cli(full_disk) == 2
    assert capsys.readouterr().err == (
        "error: cannot write /ck/run: no space left on device (/ck/run/train_opt.txt); free some space, "
        "or pass a writable --checkpoints_dir / --results_dir\n"
    )

    def missing() -> None:  # not about writing: a bug or a case without its own message keeps its traceback
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/x")

    with pytest.raises(FileNotFoundError):
        run_cli(missing)


def test_print0_speaks_on_the_main_process_only(capsys, monkeypatch):
    distributed.print0("rank 0 says")
    monkeypatch.setattr(distributed, "_is_main_process", False)  # what setup_runtime sets on ranks > 0
    distributed.print0("rank 1 says")
    assert capsys.readouterr().out == "rank 0 says\n"
