"""Each model's step against the papers' formulas, written out by hand here from the networks' outputs.

Every test builds a tiny model with fixed weights (seeded) and fixed inputs, copies its networks before the
step, and recomputes with the copies what the step must do: the losses it reports (pix2pix Eq. 4 with
λ = 100; CycleGAN Eq. 1-3 plus the identity term λ·λ_idt; D losses halved; the WGAN-GP penalty) and the
update it makes. Adam's first step is blind to a constant factor on the loss (it divides by |g|), so the
exact update checks swap in plain SGD, whose update -lr·∇ shows every weight in the formula; one test keeps
Adam and checks its first step, -lr·g/(|g| + eps), from the hand gradient.
"""

from __future__ import annotations

import copy
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from data.color import lab_to_rgb
from models import create_model
from models.image_pool import ImagePool
from models.networks import define_D, define_G
from tests.helpers import random_batch, tiny_train_options

SGD_LR = 0.5
TOL = dict(rtol=1e-4, atol=1e-6)


# -- the papers' terms, by hand ---------------------------------------------------------------------------
def bce_logits(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Vanilla GAN: -log σ(x) for the real label, -log(1 - σ(x)) for the fake one, averaged."""
    return (F.softplus(-logits) if real else F.softplus(logits)).mean()


def least_squares(pred: torch.Tensor, real: bool) -> torch.Tensor:
    """LSGAN: (D(x) - label)², averaged."""
    return ((pred - (1.0 if real else 0.0)) ** 2).mean()


def wasserstein(pred: torch.Tensor, real: bool) -> torch.Tensor:
    """WGAN critic: -E[D(x)] for real, E[D(x)] for fake."""
    return -pred.mean() if real else pred.mean()


GAN = {"vanilla": bce_logits, "lsgan": least_squares, "wgangp": wasserstein}


def mean_abs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean()


def gradient_penalty(netD: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. Eq. 3): 10 · E[(‖∇D(x̂)‖₂ − 1)²], x̂ = α·real + (1 − α)·fake, α ~ U(0, 1)."""
    alpha = torch.rand(real.size(0), 1, 1, 1)
    x_hat = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(netD(x_hat).sum(), x_hat, create_graph=True)
    norms = (grad.flatten(1) + 1e-16).norm(dim=1)  # the reference's 1e-16 keeps the norm's gradient finite
    return 10.0 * ((norms - 1.0) ** 2).mean()


# -- helpers ------------------------------------------------------------------------------------------------
def build(tmp_path, name: str, *extra: str):
    torch.manual_seed(0)
    opt = tiny_train_options(tmp_path, name, *extra)
    model = create_model(opt)
    model.setup(opt)
    return opt, model


def use_sgd(model, lr: float = SGD_LR) -> None:
    """Replace each optimizer by SGD on the same parameters: the update is then -lr · the loss gradient."""
    for key, old in model.optimizers.items():
        params = [p for group in old.param_groups for p in group["params"]]
        model.optimizers[key] = torch.optim.SGD(params, lr=lr)


def frozen_copies(*nets: nn.Module) -> list[nn.Module]:
    return [copy.deepcopy(net) for net in nets]


def hand_gradients(loss: torch.Tensor, nets: list[nn.Module]) -> list[list[torch.Tensor]]:
    params = [list(net.parameters()) for net in nets]
    flat = torch.autograd.grad(loss, [p for ps in params for p in ps], allow_unused=True)
    grads, i = [], 0
    for ps in params:
        grads.append([torch.zeros_like(p) if g is None else g for p, g in zip(ps, flat[i : i + len(ps)])])
        i += len(ps)
    return grads


def sgd_updated(net: nn.Module, grads: list[torch.Tensor], lr: float = SGD_LR) -> nn.Module:
    new = copy.deepcopy(net)
    with torch.no_grad():
        for p, g in zip(new.parameters(), grads):
            p -= lr * g
    return new


def assert_same_weights(actual: nn.Module, expected: nn.Module, what: str) -> None:
    for (name, a), (_, e) in zip(actual.named_parameters(), expected.named_parameters()):
        assert torch.allclose(a, e, **TOL), f"{what}.{name}: max diff {(a - e).abs().max():.3g}"


# -- pix2pix and colorization (pix2pix from L to ab) --------------------------------------------------------
@pytest.mark.parametrize("name", ["pix2pix", "colorization"])
@pytest.mark.parametrize("gan_mode", ["vanilla", "wgangp"])
def test_pix2pix_step_is_eq4_with_lambda_100_and_a_halved_d_loss(tmp_path, name, gan_mode):
    """L_cGAN(G, D) + λ·L_L1(G) with λ = 100 (pix2pix Eq. 4); D on 0.5·(real + fake) (+ WGAN-GP penalty)."""
    opt, model = build(tmp_path, name, "--gan_mode", gan_mode)
    assert opt.lambda_L1 == 100.0
    gan = GAN[gan_mode]
    batch = random_batch(opt, seed=1, batch_size=2)
    real_A, real_B = batch["A"], batch["B"]
    G0, D0 = frozen_copies(model.netG, model.netD)
    use_sgd(model)
    rng = torch.get_rng_state()
    model.set_input(batch)
    model.optimize_parameters()
    losses = model.get_current_losses()

    torch.set_rng_state(rng)  # the same dropout masks (and the same α of the penalty)
    fake_B = G0(real_A)
    real_AB, fake_AB = torch.cat((real_A, real_B), 1), torch.cat((real_A, fake_B.detach()), 1)
    d_fake, d_real = gan(D0(fake_AB), real=False), gan(D0(real_AB), real=True)
    loss_D = 0.5 * (d_fake + d_real)
    if gan_mode == "wgangp":
        penalty = gradient_penalty(D0, real_AB, fake_AB)
        assert float(model.loss["D_gp"]) == pytest.approx(float(penalty), rel=1e-4)
        loss_D = loss_D + penalty
    (grads_D,) = hand_gradients(loss_D, [D0])
    D1 = sgd_updated(D0, grads_D)
    g_gan = gan(D1(torch.cat((real_A, fake_B), 1)), real=True)  # G is judged by the D just updated
    g_l1 = 100.0 * mean_abs(real_B, fake_B)
    (grads_G,) = hand_gradients(g_gan + g_l1, [G0])

    expected = {"G_GAN": g_gan, "G_L1": g_l1, "D_real": d_real, "D_fake": d_fake}
    assert losses == pytest.approx({k: float(v) for k, v in expected.items()}, rel=1e-4)
    assert_same_weights(model.netD, D1, "netD")
    assert_same_weights(model.netG, sgd_updated(G0, grads_G), "netG")


def test_pix2pix_first_adam_step_follows_the_hand_gradient(tmp_path):
    """Adam's first step is -lr · m̂/(√v̂ + eps) = -lr · g/(|g| + eps): the sign of the hand gradient."""
    opt, model = build(tmp_path, "pix2pix")
    batch = random_batch(opt, seed=2)
    G0, D0 = frozen_copies(model.netG, model.netD)
    rng = torch.get_rng_state()
    model.set_input(batch)
    model.optimize_parameters()

    torch.set_rng_state(rng)
    fake_B = G0(batch["A"])
    real_AB, fake_AB = torch.cat((batch["A"], batch["B"]), 1), torch.cat((batch["A"], fake_B.detach()), 1)
    (g,) = hand_gradients(0.5 * (bce_logits(D0(fake_AB), False) + bce_logits(D0(real_AB), True)), [D0])
    moved = 0
    for (name, after), before, grad in zip(model.netD.named_parameters(), D0.parameters(), g):
        expected = before - opt.lr * grad / (grad.abs() + 1e-8)
        assert torch.allclose(after, expected, rtol=0, atol=1e-7), name
        moved += int((torch.sign(after - before) == -torch.sign(grad))[grad.abs() > 1e-6].all())
    assert moved == len(g)


# -- CycleGAN -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gan_mode", ["lsgan", "wgangp"])
def test_cycle_gan_step_is_eq3_plus_identity_times_lambda_idt(tmp_path, gan_mode):
    """L_GAN(G, D_Y) + L_GAN(F, D_X) + λ_A·‖F(G(x)) − x‖₁ + λ_B·‖G(F(y)) − y‖₁ (CycleGAN Eq. 1-3), plus the
    identity terms λ_B·λ_idt·‖G(y) − y‖₁ and λ_A·λ_idt·‖F(x) − x‖₁ (§5.2); then each D on 0.5·(real + fake)."""
    opt, model = build(tmp_path, "cycle_gan", "--lambda_A", "10", "--lambda_B", "5", "--lambda_identity", "0.3",
                       "--gan_mode", gan_mode)  # fmt: skip
    gan = GAN[gan_mode]
    batch = random_batch(opt, seed=3, batch_size=2)
    A, B = batch["A"], batch["B"]
    G_A, G_B, D_A, D_B = frozen_copies(model.netG_A, model.netG_B, model.netD_A, model.netD_B)
    use_sgd(model)
    rng = torch.get_rng_state()
    model.set_input(batch)
    model.optimize_parameters()
    losses = model.get_current_losses()

    torch.set_rng_state(rng)
    fake_B, fake_A = G_A(A), G_B(B)
    rec_A, rec_B = G_B(fake_B), G_A(fake_A)
    terms = {
        "G_A": gan(D_A(fake_B), real=True),
        "G_B": gan(D_B(fake_A), real=True),
        "cycle_A": 10.0 * mean_abs(rec_A, A),
        "cycle_B": 5.0 * mean_abs(rec_B, B),
        "idt_A": 5.0 * 0.3 * mean_abs(G_A(B), B),
        "idt_B": 10.0 * 0.3 * mean_abs(G_B(A), A),
    }
    grads_G_A, grads_G_B = hand_gradients(sum(terms.values()), [G_A, G_B])
    # The pools start empty and hand back the fakes just made; D judges them with the weights before the step.
    terms["D_A"] = 0.5 * (gan(D_A(B), real=True) + gan(D_A(fake_B.detach()), real=False))
    loss_D_A = terms["D_A"] + (gradient_penalty(D_A, B, fake_B.detach()) if gan_mode == "wgangp" else 0)
    terms["D_B"] = 0.5 * (gan(D_B(A), real=True) + gan(D_B(fake_A.detach()), real=False))
    loss_D_B = terms["D_B"] + (gradient_penalty(D_B, A, fake_A.detach()) if gan_mode == "wgangp" else 0)
    (grads_D_A,) = hand_gradients(loss_D_A, [D_A])
    (grads_D_B,) = hand_gradients(loss_D_B, [D_B])

    if gan_mode == "lsgan":  # under wgangp the reported D_A / D_B include the penalty
        assert losses == pytest.approx({k: float(v) for k, v in terms.items()}, rel=1e-4)
    assert_same_weights(model.netG_A, sgd_updated(G_A, grads_G_A), "netG_A")
    assert_same_weights(model.netG_B, sgd_updated(G_B, grads_G_B), "netG_B")
    assert_same_weights(model.netD_A, sgd_updated(D_A, grads_D_A), "netD_A")
    assert_same_weights(model.netD_B, sgd_updated(D_B, grads_D_B), "netD_B")


# -- template ----------------------------------------------------------------------------------------------
def test_template_step_is_weighted_l1_regression(tmp_path):
    opt, model = build(tmp_path, "template", "--lambda_regression", "2.5")
    batch = random_batch(opt, seed=4)
    (G0,) = frozen_copies(model.netG)
    use_sgd(model)
    rng = torch.get_rng_state()
    model.set_input(batch)
    model.optimize_parameters()

    torch.set_rng_state(rng)
    loss = 2.5 * mean_abs(G0(batch["A"]), batch["B"])
    (grads,) = hand_gradients(loss, [G0])
    assert model.get_current_losses() == pytest.approx({"G": float(loss)}, rel=1e-4)
    assert_same_weights(model.netG, sgd_updated(G0, grads), "netG")


# -- the image pool -----------------------------------------------------------------------------------------
def test_image_pool_fills_then_returns_stored_history_about_half_the_time():
    random.seed(0)
    pool = ImagePool(4)
    made, from_history = [], 0
    for step in range(40):
        images = torch.tensor([2.0 * step, 2.0 * step + 1]).view(2, 1, 1, 1)  # every image has its own value
        out = pool.query(images)
        assert out.shape == images.shape
        for new, returned in zip(images.flatten().tolist(), out.flatten().tolist()):
            if step < 2:
                assert returned == new  # filling up: the images themselves
            elif returned != new:
                assert returned in made  # an older fake (perhaps one stored by this very query), shown again
                from_history += 1
            made.append(new)
    assert 20 <= from_history <= 56  # p = 1/2 for each of the 76 images queried once the pool was full


def test_image_pool_of_size_zero_returns_its_input():
    images = torch.randn(3, 1, 2, 2)
    assert ImagePool(0).query(images) is images


# -- SyncBatchNorm init -------------------------------------------------------------------------------------
def test_syncbatchnorm_is_initialised_like_batchnorm():
    """init_type normal: norm weights ~ N(1, 0.02), biases 0 -- SyncBatchNorm too (the reference skips it)."""
    nets = {}
    for norm in ("batch", "syncbatch"):
        torch.manual_seed(0)
        nets[norm] = (
            define_G(3, 3, 8, "resnet_9blocks", norm=norm, init_type="normal", init_gain=0.02),
            define_D(6, 8, "basic", norm=norm, init_type="normal", init_gain=0.02),
        )
    for bn_net, sync_net in zip(*nets.values()):
        syncs = [m for m in sync_net.modules() if isinstance(m, nn.SyncBatchNorm)]
        assert syncs
        weights = torch.cat([m.weight.detach() for m in syncs])
        biases = torch.cat([m.bias.detach() for m in syncs])
        assert abs(weights.mean().item() - 1.0) < 0.01 and 0.01 < weights.std().item() < 0.03
        assert torch.count_nonzero(biases) == 0
        # the same draws in the same order: equal, tensor for tensor, to the BatchNorm network's
        bn_state, sync_state = bn_net.state_dict(), sync_net.state_dict()
        assert list(bn_state) == list(sync_state)
        assert all(torch.equal(bn_state[k], sync_state[k]) for k in bn_state)


# -- colorization visuals ---------------------------------------------------------------------------------
def test_colorization_shows_the_fake_ab_on_the_real_l(tmp_path):
    opt, model = build(tmp_path, "colorization")
    model.set_input(random_batch(opt, seed=5))
    model.test()
    visuals = model.get_current_visuals()
    assert list(visuals) == ["real_A", "real_B_rgb", "fake_B_rgb"]
    assert torch.equal(visuals["fake_B_rgb"], lab_to_rgb(model.real_A, model.fake_B))
    assert torch.equal(visuals["real_B_rgb"], lab_to_rgb(model.real_A, model.real_B))
    assert (visuals["fake_B_rgb"] - visuals["real_B_rgb"]).abs().max() > 0.1
