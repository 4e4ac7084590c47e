"""GAN objectives, the WGAN-GP penalty and the L1 terms, against hand-computed values."""

import math

import pytest
import torch
from torch import nn

from models import networks
from models.losses import GANLoss, cal_gradient_penalty, cycle_loss, identity_loss, l1_loss
from models.networks import define_D
from util.errors import UserError


@pytest.mark.parametrize(
    "mode,prediction,target_is_real,expected",
    [
        ("lsgan", 0.5, True, 0.25),  # (0.5 - 1)²
        ("lsgan", 0.5, False, 0.25),  # (0.5 - 0)²
        ("lsgan", 1.0, True, 0.0),
        ("lsgan", 3.0, False, 9.0),
        ("vanilla", 0.0, True, math.log(2)),  # -log σ(0)
        ("vanilla", 0.0, False, math.log(2)),
        ("vanilla", 2.0, True, math.log(1 + math.exp(-2))),  # -log σ(2)
        ("vanilla", 2.0, False, math.log(1 + math.exp(2))),  # -log(1 - σ(2))
    ],
)
def test_gan_loss_values(mode, prediction, target_is_real, expected):
    loss = GANLoss(mode)(torch.full((2, 1, 3, 3), prediction), target_is_real)
    assert loss.item() == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_wgangp_loss_is_minus_mean_for_real_and_mean_for_fake():
    pred = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    assert GANLoss("wgangp")(pred, True).item() == pytest.approx(-3.0)
    assert GANLoss("wgangp")(pred, False).item() == pytest.approx(3.0)


def test_gan_loss_targets_broadcast_and_custom_labels():
    criterion = GANLoss("lsgan", target_real_label=0.9, target_fake_label=0.1)
    pred = torch.zeros(2, 1, 30, 30)
    target = criterion.get_target_tensor(pred, True)
    assert target.shape == pred.shape and torch.all(target == 0.9)
    assert criterion(torch.full((1, 1, 4, 4), 0.9), True).item() == pytest.approx(0.0, abs=1e-12)
    assert criterion(torch.full((1, 1, 4, 4), 0.1), False).item() == pytest.approx(0.0, abs=1e-12)
    assert {name for name, _ in criterion.named_buffers()} == {"real_label", "fake_label"}


def test_gan_loss_is_reexported_from_networks():
    assert networks.GANLoss is GANLoss and networks.cal_gradient_penalty is cal_gradient_penalty


def test_unknown_gan_mode_names_the_flag():
    with pytest.raises(UserError, match="--gan_mode hinge .*lsgan"):
        GANLoss("hinge")


# -- gradient penalty ----------------------------------------------------------------------------------
class LinearCritic(nn.Module):
    """D(x) = <w, x> per sample: its input gradient is w everywhere, so ‖∇D‖ = ‖w‖."""

    def __init__(self, norm: float) -> None:
        super().__init__()
        w = torch.randn(1, 2, 4, 4)
        self.w = nn.Parameter(w / w.norm() * norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).sum(dim=(1, 2, 3))


@pytest.mark.parametrize("kind", ["mixed", "real", "fake"])
@pytest.mark.parametrize("grad_norm,expected", [(1.0, 0.0), (2.0, 10.0), (0.5, 2.5)])
def test_gradient_penalty_of_a_linear_critic(kind, grad_norm, expected):
    torch.manual_seed(0)
    critic = LinearCritic(grad_norm)
    real, fake = torch.randn(3, 2, 4, 4), torch.randn(3, 2, 4, 4)
    penalty, gradients = cal_gradient_penalty(critic, real, fake, type=kind)
    assert penalty.item() == pytest.approx(expected, abs=1e-5)  # λ·(‖w‖ − 1)², λ = 10
    assert gradients.shape == (3, 32)
    torch.testing.assert_close(gradients, critic.w.detach().reshape(1, -1).expand(3, -1))


def test_gradient_penalty_reaches_the_discriminator_weights():
    torch.manual_seed(0)
    netD = define_D(6, 4, "basic", norm="instance")
    real, fake = torch.randn(2, 6, 64, 64), torch.randn(2, 6, 64, 64)
    criterion = GANLoss("wgangp")

    def d_grads(with_penalty: bool) -> list[torch.Tensor]:
        netD.zero_grad()
        torch.manual_seed(1)
        loss = criterion(netD(real), True) + criterion(netD(fake), False)
        if with_penalty:
            penalty, _ = cal_gradient_penalty(netD, real, fake)
            assert penalty.item() > 0
            loss = loss + penalty
        loss.backward()
        return [p.grad.clone() for p in netD.parameters()]

    plain, penalised = d_grads(False), d_grads(True)
    assert all(torch.isfinite(g).all() for g in penalised)
    assert any(not torch.allclose(a, b) for a, b in zip(plain, penalised))


def test_gradient_penalty_is_off_when_lambda_is_zero():
    assert cal_gradient_penalty(
        LinearCritic(2.0), torch.randn(1, 2, 4, 4), torch.randn(1, 2, 4, 4), lambda_gp=0.0
    ) == (
        0.0,
        None,
    )


def test_gradient_penalty_accepts_the_reference_positional_device():
    critic = LinearCritic(2.0)
    penalty, _ = cal_gradient_penalty(
        critic, torch.randn(1, 2, 4, 4), torch.randn(1, 2, 4, 4), torch.device("cpu")
    )
    assert penalty.item() == pytest.approx(10.0, abs=1e-5)


# -- L1 terms ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("term", [l1_loss, cycle_loss, identity_loss])
def test_l1_terms_are_weighted_mean_absolute_errors(term):
    fake = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    real = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    assert term(fake, real, 100.0).item() == pytest.approx(100.0 * (1 + 0 + 2 + 2) / 4)
    assert term(real, real, 10.0).item() == 0.0
