"""Every registered model: one optimisation step on tiny CPU shapes, save -> load, and the step variants."""

import math

import pytest
import torch

from models import MODELS, create_model
from tests.helpers import concat_batches, random_batch, tiny_train_options

TRAINABLE = sorted(name for name in MODELS if name != "test")


def snapshot(model) -> dict[str, dict[str, torch.Tensor]]:
    return {
        name: {k: v.detach().clone() for k, v in net.state_dict().items()}
        for name, net in model.networks().items()
    }


def build(tmp_path, name, *extra, seed=0):
    torch.manual_seed(seed)
    opt = tiny_train_options(tmp_path, name, *extra)
    model = create_model(opt)
    model.setup(opt)
    return opt, model


@pytest.mark.parametrize("name", TRAINABLE)
def test_one_step_changes_every_network_and_losses_are_finite(tmp_path, name):
    opt, model = build(tmp_path, name)
    before = snapshot(model)
    model.set_input(random_batch(opt, seed=1))
    model.optimize_parameters()
    losses = model.get_current_losses()
    assert list(losses) == [n for n in model.loss_names if n in losses] and len(losses) == len(
        model.loss_names
    )
    assert all(math.isfinite(v) for v in losses.values()), losses
    after = snapshot(model)
    for net_name, state in before.items():
        changed = [
            k for k, v in state.items() if v.is_floating_point() and not torch.equal(v, after[net_name][k])
        ]
        assert changed, f"{name}: network {net_name} did not change"
    model.compute_visuals()
    for label, image in model.get_current_visuals().items():
        assert image.dim() == 4 and image.shape[-2:] == (32, 32), label


@pytest.mark.parametrize("name", TRAINABLE)
def test_save_then_load_round_trip(tmp_path, name):
    opt, model = build(tmp_path, name)
    model.set_input(random_batch(opt, seed=1))
    model.optimize_parameters()
    model.save_networks("latest")
    saved = snapshot(model)
    _, fresh = build(tmp_path, name, seed=123)
    fresh.load_networks("latest")
    loaded = snapshot(fresh)
    for net_name, state in saved.items():
        assert state.keys() == loaded[net_name].keys()
        for k, v in state.items():
            assert torch.equal(v, loaded[net_name][k]), (net_name, k)


def test_cycle_gan_losses_and_visuals_follow_the_reference():
    assert MODELS["cycle_gan"].loss_names == [
        "D_A",
        "G_A",
        "cycle_A",
        "idt_A",
        "D_B",
        "G_B",
        "cycle_B",
        "idt_B",
    ]
    assert MODELS["pix2pix"].loss_names == ["G_GAN", "G_L1", "D_real", "D_fake"]


def test_cycle_gan_visuals_include_identity_only_when_on(tmp_path):
    _, with_idt = build(tmp_path, "cycle_gan")
    _, without = build(tmp_path, "cycle_gan", "--lambda_identity", "0")
    assert with_idt.visual_names[-2:] == ["idt_B", "idt_A"]
    assert without.visual_names == ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"]


def test_cycle_gan_reports_identity_losses_as_zero_when_off(tmp_path):
    """The reference logs idt_A / idt_B as 0 with --lambda_identity 0: loss_log.txt keeps all 8 columns."""
    opt, model = build(tmp_path, "cycle_gan", "--lambda_identity", "0")
    model.set_input(random_batch(opt, seed=1))
    model.optimize_parameters()
    losses = model.get_current_losses()
    assert list(losses) == MODELS["cycle_gan"].loss_names
    assert (losses["idt_A"], losses["idt_B"]) == (0.0, 0.0)
    assert losses["cycle_A"] > 0 and losses["G_A"] > 0


def test_identity_loss_with_different_channel_counts_is_a_clear_error(tmp_path):
    from util.errors import UserError

    with pytest.raises(UserError, match="--lambda_identity"):
        build(tmp_path, "cycle_gan", "--input_nc", "1")
    build(
        tmp_path, "cycle_gan", "--input_nc", "1", "--lambda_identity", "0"
    )  # the fix the message names works


def grads(model) -> dict[str, torch.Tensor]:
    return {
        f"{n}.{k}": p.grad.clone()
        for n, net in model.networks().items()
        for k, p in net.named_parameters()
        if p.grad is not None
    }


@pytest.mark.parametrize("name", ["pix2pix", "cycle_gan", "template"])
def test_accumulation_equals_the_large_batch(tmp_path, name):
    """--accum_steps 2 at batch 1 takes the same step as batch 2 (instance norm, no dropout)."""
    flags = ["--norm", "instance", "--no_dropout", "--pool_size", "0"]
    batches = [random_batch(tiny_train_options(tmp_path, name, *flags), seed=s) for s in (1, 2)]
    _, big = build(tmp_path, name, *flags)
    big.train_step([concat_batches(batches)])
    _, accum = build(tmp_path, name, *flags, "--accum_steps", "2")
    accum.train_step(batches)
    g_big, g_acc = grads(big), grads(accum)
    assert g_big.keys() == g_acc.keys() and len(g_big) > 0
    # Compared before Adam normalises them: biases in front of InstanceNorm have a true gradient of 0 and
    # carry float noise (~1e-6) that Adam's first step would blow up to +-lr.
    for k in g_big:
        torch.testing.assert_close(g_acc[k], g_big[k], rtol=1e-4, atol=2e-5, msg=k)
    for loss_name, value in big.get_current_losses().items():
        assert accum.get_current_losses()[loss_name] == pytest.approx(value, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
@pytest.mark.parametrize("name", ["pix2pix", "cycle_gan"])
def test_mixed_precision_steps_are_finite_and_checkpoints_stay_fp32(tmp_path, name, amp):
    opt, model = build(tmp_path, name, "--amp", amp)
    before = snapshot(model)
    for seed in range(8):  # fp16's GradScaler skips the first steps while it lowers its scale from 2**16
        model.set_input(random_batch(opt, seed=seed))
        model.optimize_parameters()
    assert all(math.isfinite(v) for v in model.get_current_losses().values())
    model.save_networks("latest")
    for net_name in model.networks():
        state = torch.load(model.checkpoint_path("latest", net_name), weights_only=True)
        assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
        assert any(not torch.equal(v, before[net_name][k]) for k, v in state.items() if v.is_floating_point())
    _, fresh = build(tmp_path, name, seed=5)
    fresh.load_networks("latest")


def test_ttur_rates_reach_their_optimizers_and_schedules(tmp_path):
    _, model = build(
        tmp_path, "pix2pix", "--lr_G", "1e-3", "--lr_D", "4e-4", "--n_epochs", "1", "--n_epochs_decay", "1"
    )
    assert model.learning_rates() == {"G": 1e-3, "D": 4e-4}
    model.update_learning_rate()  # end of epoch 1: linear decay over 1 epoch halves both
    rates = model.learning_rates()
    assert rates["G"] == pytest.approx(5e-4) and rates["D"] == pytest.approx(2e-4)


def test_channels_last_step_matches_default(tmp_path):
    opt, plain = build(tmp_path, "cycle_gan", "--pool_size", "0")
    _, cl = build(tmp_path, "cycle_gan", "--pool_size", "0", "--channels_last")
    batch = random_batch(opt, seed=3)
    plain.train_step([batch])
    cl.train_step([batch])
    for k, v in grads(plain).items():
        torch.testing.assert_close(grads(cl)[k], v, rtol=1e-3, atol=2e-5)


def test_grad_checkpoint_step_matches_default(tmp_path):
    opt, plain = build(tmp_path, "cycle_gan", "--pool_size", "0")
    _, ckpt = build(tmp_path, "cycle_gan", "--pool_size", "0", "--grad_checkpoint")
    batch = random_batch(opt, seed=4)
    plain.train_step([batch])
    ckpt.train_step([batch])
    for k, v in grads(plain).items():
        torch.testing.assert_close(grads(ckpt)[k], v, rtol=1e-4, atol=2e-5)


def test_fused_adam_is_opt_in_and_matches_the_default_update(tmp_path):
    opt, plain = build(tmp_path, "pix2pix", "--norm", "instance", "--no_dropout")
    _, fused = build(tmp_path, "pix2pix", "--norm", "instance", "--no_dropout", "--fused_adam")
    assert plain.optimizers["G"].defaults["fused"] is None and fused.optimizers["G"].defaults["fused"] is True
    for seed in (1, 2):
        batch = random_batch(opt, seed=seed)
        plain.train_step([batch])
        fused.train_step([batch])
    # Conv weights only: biases in front of InstanceNorm have a true gradient of 0, and Adam turns their float
    # noise into steps of +-lr whatever the implementation.
    for net_name, state in snapshot(plain).items():
        for k, v in state.items():
            if v.dim() == 4:
                torch.testing.assert_close(snapshot(fused)[net_name][k], v, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["pix2pix", "cycle_gan"])
def test_direction_btoa_swaps_source_and_target(tmp_path, name):
    opt, model = build(tmp_path, name, "--direction", "BtoA")
    batch = random_batch(opt, seed=7)
    batch["B_paths"] = ["b.png"]
    model.set_input(batch)
    assert torch.equal(model.real_A, batch["B"]) and torch.equal(model.real_B, batch["A"])
    assert model.get_image_paths() == ["b.png"]
