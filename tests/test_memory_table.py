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
def test_cells_grow_with_batch_and_crop_and_the_table_orders_rows_by_pixels(tmp_path, capsys):
    cells = main([*TINY, "--batch_sizes", "1", "2", "--crop_sizes", "32", "64", "--variants", "plain",
                  "grad_checkpoint", "--json", str(tmp_path / "m.json")])  # fmt: skip
    assert len(cells) == 2 * 2 * 2 and all("error" not in c for c in cells)
    peak = {(c["crop"], c["batch_size"], c["variant"]): c["peak_mem_mb"] for c in cells}
    for variant in ("plain", "grad_checkpoint"):
        assert peak[(32, 1, variant)] < peak[(32, 2, variant)] < peak[(64, 2, variant)]
        assert peak[(32, 1, variant)] < peak[(64, 1, variant)]
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| crop")]
    assert [tuple(r.split("|")[1:3]) for r in rows] == [
        (" 32 ", " 1 "),
        (" 32 ", " 2 "),
        (" 64 ", " 1 "),
        (" 64 ", " 2 "),
    ]
    assert (tmp_path / "m.json").is_file()


def test_failed_cells_show_as_failed():
    cells = [{"crop": 32, "batch_size": 1, "variant": "plain", "peak_mem_mb": None, "error": "exit 1: OOM"}]
    assert markdown_table(cells, ["plain"]).splitlines()[-1] == "| 32 | 1 | 0.00102 | failed |"


def test_fp16_on_cpu_is_refused(capsys):
    with pytest.raises(SystemExit):
        main([*TINY, "--variants", "amp_fp16"])
    assert "amp_fp16 needs --device cuda" in capsys.readouterr().err
