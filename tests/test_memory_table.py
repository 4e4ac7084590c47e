"""scripts/memory_table.py on tiny settings: one cell per (crop, batch, variant), from benchmark.py's measure."""

import pytest
import torch

from scripts.memory_table import main, markdown_table

TINY = ["--model", "pix2pix", "--netG", "resnet_6blocks", "--norm", "instance", "--ngf", "4", "--ndf", "4"]
TINY += ["--device", "cpu", "--in_process"]


@pytest.fixture(autouse=True)
def keep_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.mark.slow
def test_one_cell_per_crop_batch_and_variant_and_rows_ordered_by_pixels(tmp_path, capsys):
    # in one process the figures carry earlier cells' leftovers: only the table's shape is checked here
    argv = [
        *TINY,
        "--batch_sizes",
        "1",
        "2",
        "--crop_sizes",
        "32",
        "64",
        "--variants",
        "plain",
        "grad_checkpoint",
    ]
    cells = main([*argv, "--json", str(tmp_path / "m.json")])
    assert len(cells) == 2 * 2 * 2 and all("error" not in c and c["peak_mem_mb"] > 0 for c in cells)
    assert {(c["crop"], c["batch_size"], c["variant"]) for c in cells} == {
        (crop, b, v) for crop in (32, 64) for b in (1, 2) for v in ("plain", "grad_checkpoint")
    }
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| crop")]
    assert [tuple(r.split("|")[1:3]) for r in rows] == [
        (" 32 ", " 1 "),
        (" 32 ", " 2 "),
        (" 64 ", " 1 "),
        (" 64 ", " 2 "),
    ]
    assert (tmp_path / "m.json").is_file()


@pytest.mark.slow
def test_fresh_process_cells_grow_with_the_batch(capsys):
    """The real figures: each cell measured in its own process (benchmark.measure_in_subprocess)."""
    argv = [a for a in TINY if a != "--in_process"] + ["--threads", "1"]
    cells = main([*argv, "--batch_sizes", "1", "4", "--crop_sizes", "32", "--variants", "plain"])
    assert all("error" not in c for c in cells), cells
    peak = {c["batch_size"]: c["peak_mem_mb"] for c in cells}
    assert 0 < peak[1] < peak[4]


def test_failed_cells_show_as_failed():
    cells = [{"crop": 32, "batch_size": 1, "variant": "plain", "peak_mem_mb": None, "error": "exit 1: OOM"}]
    assert markdown_table(cells, ["plain"]).splitlines()[-1] == "| 32 | 1 | 0.00102 | failed |"


def test_fp16_on_cpu_is_refused(capsys):
    with pytest.raises(SystemExit):
        main([*TINY, "--variants", "amp_fp16"])
    assert "amp_fp16 needs --device cuda" in capsys.readouterr().err
