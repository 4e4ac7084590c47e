"""train.py's loop helpers: frequencies, micro-batch groups, the plateau metric, the final save."""

import re
from pathlib import Path

import pytest

import train
from data.builtin import make_paired_dataset
from tests.test_train_e2e import train as run_train


def test_frequencies_fire_when_a_multiple_is_crossed():
    # batch 3, print_freq 8: the reference (exact hit) never prints; here at 9 and 24 (crossing 8, 16 and 24).
    seen = [3 * i for i in range(9)]
    fired = [after for before, after in zip(seen, seen[1:]) if train.crossed(before, after, 8)]
    assert fired == [9, 18, 24]
    assert not train.crossed(0, 5, 0)  # a frequency of 0 is off, not a division error


def test_grouped_makes_optimizer_steps_of_k_batches():
    assert list(train.grouped(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(train.grouped(range(2), 1)) == [[0], [1]]


def test_plateau_metric_sums_generator_terms_only():
    class Stub:
        def get_current_losses(self):
            return {"G_GAN": 1.0, "G_L1": 2.5, "D_real": 7.0, "D_fake": 9.0, "cycle_A": 0.5, "D_A": 3.0}

    assert train.generator_loss(Stub()) == 4.0


@pytest.mark.slow
def test_odd_batch_prints_at_crossings_and_the_final_epoch_saves_latest(tmp_path):
    data = make_paired_dataset(str(tmp_path / "p"), n_train=9, n_val=1, n_test=1, size=32)
    done = run_train(
        data, tmp_path / "ck", "odd", "--batch_size", "3", "--print_freq", "4", "--lr_policy", "plateau"
    )
    assert done.returncode == 0, done.stderr
    lines = [
        ln
        for ln in Path(tmp_path / "ck/odd/loss_log.txt").read_text().splitlines()
        if ln.startswith("(epoch")
    ]
    # 9 images per epoch in steps of 3, counted over the run: multiples of 4 are crossed at 6, 9, 12 and 18,
    # shown as images into their epoch.
    positions = [re.match(r"\(epoch: (\d+), iters: (\d+),", ln).groups() for ln in lines]
    assert positions == [("1", "6"), ("1", "9"), ("2", "3"), ("2", "9")]
    # 2 epochs, --save_epoch_freq 5 never reached: the last epoch still leaves `latest`.
    assert (tmp_path / "ck/odd/latest_net_G.pth").exists() and not (tmp_path / "ck/odd/2_net_G.pth").exists()
