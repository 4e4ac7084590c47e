"""Learning rate per epoch for every --lr_policy, against hand-computed tables.

"The lr at epoch E" is the lr used while training epoch E: the scheduler is built before the first
epoch (``epoch_count``) and stepped once at the end of every epoch, as train.py does.
"""

import pytest
import torch

from models.schedulers import LR_POLICIES, get_scheduler, step_scheduler
from util.errors import UserError

LR = 2e-4


def _optimizer(lr: float = LR) -> torch.optim.Optimizer:
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr, betas=(0.5, 0.999))


def lr_table(
    policy: str, epoch_count: int = 1, last_epoch: int = 200, metrics=None, **kwargs
) -> dict[int, float]:
    """{epoch: lr used during that epoch} for epochs epoch_count..last_epoch."""
    optimizer = _optimizer()
    scheduler = get_scheduler(
        optimizer, policy, n_epochs=kwargs.pop("n_epochs", 100), n_epochs_decay=kwargs.pop("n_epochs_decay", 100),
        epoch_count=epoch_count, **kwargs,
    )  # fmt: skip
    table = {}
    for epoch in range(epoch_count, last_epoch + 1):
        table[epoch] = optimizer.param_groups[0]["lr"]
        optimizer.step()
        step_scheduler(scheduler, metrics(epoch) if metrics else None)
    return table


def test_linear_keeps_the_lr_then_decays_without_reaching_zero():
    table = lr_table("linear")
    assert all(table[e] == pytest.approx(LR) for e in range(1, 101))
    assert table[101] == pytest.approx(1.98e-4, rel=1e-3)  # 2e-4 · (1 − 1/101)
    assert table[150] == pytest.approx(LR * (1 - 50 / 101))
    assert table[200] == pytest.approx(1.98e-6, rel=1e-3)  # 2e-4 / 101: the last epoch still learns


@pytest.mark.parametrize("policy", ["linear", "step", "cosine"])
def test_a_resumed_run_follows_the_same_table(policy):
    full = lr_table(policy)
    resumed = lr_table(policy, epoch_count=120)
    assert resumed == pytest.approx({e: full[e] for e in range(120, 201)})


def test_restored_state_counts_epochs_from_the_run_that_saved_it():
    optimizer = _optimizer()
    first = get_scheduler(optimizer, "linear", n_epochs=100, n_epochs_decay=100)
    for _ in range(150):  # epochs 1..150 done
        optimizer.step()
        first.step()
    resumed = get_scheduler(_optimizer(), "linear", n_epochs=100, n_epochs_decay=100, epoch_count=151)
    resumed.load_state_dict(first.state_dict())
    assert resumed.get_last_lr()[0] == pytest.approx(LR * (1 - 51 / 101))  # epoch 151
    resumed.optimizer.step()
    resumed.step()
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(LR * (1 - 52 / 101))  # 152, not 302


def test_step_multiplies_by_a_tenth_every_lr_decay_iters_epochs():
    table = lr_table("step", lr_decay_iters=50)
    assert table[1] == table[50] == pytest.approx(LR)
    assert table[51] == table[100] == pytest.approx(LR * 0.1)
    assert table[101] == pytest.approx(LR * 0.01)
    assert table[200] == pytest.approx(LR * 0.001)


def test_cosine_anneals_over_the_whole_run_and_never_climbs_back():
    table = lr_table("cosine", last_epoch=230)  # 30 epochs past the planned end
    lrs = [table[e] for e in sorted(table)]
    assert lrs[0] == pytest.approx(LR)
    assert table[101] == pytest.approx(LR / 2, rel=0.02)  # halfway
    assert 0 < table[200] < LR * 1e-3  # near 0 at the last epoch, not 0
    assert all(b <= a for a, b in zip(lrs, lrs[1:]))


def test_plateau_reduces_after_patience_flat_epochs_and_not_while_improving():
    improving = lr_table("plateau", last_epoch=30, metrics=lambda e: 1.0 / e)
    assert list(improving.values()) == [pytest.approx(LR)] * 30

    flat = lr_table("plateau", last_epoch=20, metrics=lambda e: 1.0)
    # Epoch 1 sets the best; epochs 2..7 are 6 bad epochs > patience 5, so epoch 8 runs at 0.2·lr.
    assert [flat[e] for e in range(1, 8)] == [pytest.approx(LR)] * 7
    assert flat[8] == pytest.approx(LR * 0.2)
    assert flat[14] == pytest.approx(LR * 0.04)


def test_plateau_needs_a_metric():
    scheduler = get_scheduler(_optimizer(), "plateau", n_epochs=1, n_epochs_decay=1)
    with pytest.raises(ValueError, match="metric"):
        step_scheduler(scheduler, None)


def test_unknown_policy_names_the_flag():
    with pytest.raises(UserError, match="--lr_policy exponential .*linear"):
        get_scheduler(_optimizer(), "exponential", n_epochs=1, n_epochs_decay=1)
    assert set(LR_POLICIES) == {"linear", "step", "plateau", "cosine"}


def test_scheduler_state_holds_no_functions():
    """Training state is read back with torch.load(weights_only=True)."""
    for policy in LR_POLICIES:
        state = get_scheduler(_optimizer(), policy, n_epochs=2, n_epochs_decay=2).state_dict()
        assert not any(callable(v) for v in state.values()), policy
