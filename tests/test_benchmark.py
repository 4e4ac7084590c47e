"""scripts/benchmark.py on tiny settings: the report's fields, units and memory accounting, not its speed."""

import json

import pytest
import torch

from scripts.benchmark import main

TINY = ["--size", "32", "--ngf", "4", "--ndf", "4", "--warmup", "2", "--repeats", "2", "--threads", "1"]
TINY += ["--device", "cpu"]
TIMES = ["step_time_median_s", "step_time_min_s", "step_time_max_s", "images_per_s"]


@pytest.fixture(autouse=True)
def keep_threads():
    """--in_process --threads 1 sets this process's torch threads; give the other tests theirs back."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def check_row(row: dict, model: str, batch_size: int, net_g: str) -> None:
    assert "error" not in row, row.get("error")
    assert (row["model"], row["batch_size"], row["netG"], row["size"]) == (model, batch_size, net_g, 32)
    assert len(row["step_times_s"]) == 2 and all(t > 0 for t in row["step_times_s"])
    assert all(row[key] > 0 for key in TIMES)
    assert row["step_time_min_s"] <= row["step_time_median_s"] <= row["step_time_max_s"]
    assert row["images_per_s"] == pytest.approx(batch_size / row["step_time_median_s"], rel=1e-2)
    assert row["train_mem_mb"] > 0 and row["process_peak_mb"] > row["peak_mem_mb"]
    assert row["peak_mem_mb"] == pytest.approx(row["model_mem_mb"] + row["train_mem_mb"], abs=0.2)


@pytest.mark.slow
def test_in_process_rows_per_batch_size_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    report = main(
        ["--model", "cycle_gan", *TINY, "--batch_size", "1", "2", "--in_process", "--json", str(out)]
    )
    assert json.loads(out.read_text()) == report
    assert report["environment"]["device"] == "cpu" and report["environment"]["torch_threads"] == 1
    assert report["settings"]["batch_size"] == [1, 2] and report["settings"]["grad_checkpoint"] is False
    for row, batch_size in zip(report["results"], [1, 2], strict=True):
        check_row(row, "cycle_gan", batch_size, "resnet_9blocks")
    small, large = report["results"]
    assert small["train_mem_mb"] < large["train_mem_mb"]
    header = capsys.readouterr().out.splitlines()[2].split()
    assert header[:4] == ["model", "netG", "size", "batch"]


@pytest.mark.slow
def test_fresh_process_row_with_speed_flags_and_eager_baseline():
    argv = ["--model", "pix2pix", *TINY, "--netG", "resnet_6blocks", "--grad_checkpoint", "--channels_last"]
    (row,) = main(argv + ["--baseline"])["results"]
    check_row(row, "pix2pix", 1, "resnet_6blocks")
    assert (row["norm"], row["step"]) == ("batch", "eager")
    assert row["grad_checkpoint"] and row["channels_last"]


@pytest.mark.slow
def test_grad_checkpoint_lowers_training_memory_memory_only_run():
    argv = ["--model", "cycle_gan", "--size", "64", "--ngf", "8", "--ndf", "8", "--threads", "1"]
    argv += ["--warmup", "2", "--repeats", "0", "--in_process", "--device", "cpu"]
    rows = [main(argv + extra)["results"][0] for extra in ([], ["--grad_checkpoint"])]
    plain, checkpointed = rows
    assert plain["step_time_median_s"] is None and plain["images_per_s"] is None  # --repeats 0: no timing
    assert plain["model_mem_mb"] == checkpointed["model_mem_mb"]
    # exact byte counts, so no noise; at this tiny size the optimizer state is a large share of the peak
    assert checkpointed["train_mem_mb"] < 0.9 * plain["train_mem_mb"]


def test_bad_settings_are_refused():
    for argv in (["--baseline", "--amp", "bf16"], ["--warmup", "1"], ["--repeats", "-1"]):
        with pytest.raises(SystemExit):
            main(argv)
