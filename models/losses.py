"""Loss terms of pix2pix and CycleGAN: the GAN objectives, the WGAN-GP penalty and the L1 terms."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from util.errors import UserError


def _wasserstein(prediction: torch.Tensor, target: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    # WGAN critic: raise the score of real samples, lower that of fakes; the target value is not used.
    return -prediction.mean() if target_is_real else prediction.mean()


GAN_OBJECTIVES: dict[str, Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor]] = {
    "lsgan": lambda prediction, target, _: F.mse_loss(prediction, target),
    "vanilla": lambda prediction, target, _: F.binary_cross_entropy_with_logits(prediction, target),
    "wgangp": _wasserstein,
}
GAN_MODES = tuple(GAN_OBJECTIVES)


class GANLoss(nn.Module):
    """``loss(prediction, target_is_real)`` for ``--gan_mode``: lsgan (MSE), vanilla (BCE on logits), wgangp.

    The labels are buffers so they follow the module to the device; they broadcast to the prediction.
    """

    def __init__(self, gan_mode: str, target_real_label: float = 1.0, target_fake_label: float = 0.0) -> None:
        super().__init__()
        if gan_mode not in GAN_OBJECTIVES:
            raise UserError(f"--gan_mode {gan_mode} is unknown; choose one of: {', '.join(GAN_MODES)}")
        self.gan_mode = gan_mode
        self.objective = GAN_OBJECTIVES[gan_mode]
        self.register_buffer("real_label", torch.tensor(target_real_label))
        self.register_buffer("fake_label", torch.tensor(target_fake_label))

    def get_target_tensor(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        label = self.real_label if target_is_real else self.fake_label
        return label.to(prediction.dtype).expand_as(prediction)

    def forward(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        return self.objective(prediction, self.get_target_tensor(prediction, target_is_real), target_is_real)


def _random_mix(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    alpha = torch.rand(real.size(0), *[1] * (real.dim() - 1), device=real.device, dtype=real.dtype)
    return alpha * real + (1 - alpha) * fake


INTERPOLATIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "real": lambda real, fake: real,
    "fake": lambda real, fake: fake,
    "mixed": _random_mix,
}


def cal_gradient_penalty(
    netD: nn.Module,
    real_data: torch.Tensor,
    fake_data: torch.Tensor,
    device: object = None,
    type: str = "mixed",
    constant: float = 1.0,
    lambda_gp: float = 10.0,
) -> tuple[torch.Tensor | float, torch.Tensor | None]:
    """WGAN-GP: λ · E[(‖∇D(x̂)‖₂ − constant)²] at x̂ = α·real + (1 − α)·fake, α ~ U(0, 1) per sample.

    ``type`` picks x̂: "mixed" (the interpolation above), "real" or "fake". Returns ``(penalty, gradients)``
    with the gradients flattened per sample. ``device`` is unused (x̂ lives on the data's device); it is kept
    so that calls written for the reference's signature still work.
    """
    if lambda_gp <= 0.0:
        return 0.0, None
    if type not in INTERPOLATIONS:
        raise ValueError(f"gradient penalty type {type!r} is not one of {'|'.join(INTERPOLATIONS)}")
    x_hat = INTERPOLATIONS[type](real_data, fake_data).detach().requires_grad_(True)
    scores = netD(x_hat)
    (gradients,) = torch.autograd.grad(scores, x_hat, torch.ones_like(scores), create_graph=True)
    gradients = gradients.reshape(real_data.size(0), -1)
    # The reference adds 1e-16 before the norm to keep its gradient finite at 0.
    penalty = ((gradients + 1e-16).norm(2, dim=1) - constant).pow(2).mean() * lambda_gp
    return penalty, gradients


def l1_loss(fake: torch.Tensor, real: torch.Tensor, weight: float) -> torch.Tensor:
    """λ · ‖G(x) − y‖₁, the mean absolute error to the target (pix2pix Eq. 3)."""
    return weight * F.l1_loss(fake, real)


def cycle_loss(rec: torch.Tensor, real: torch.Tensor, weight: float) -> torch.Tensor:
    """λ · ‖F(G(x)) − x‖₁, the reconstruction after a round trip (CycleGAN Eq. 2)."""
    return weight * F.l1_loss(rec, real)


def identity_loss(idt: torch.Tensor, real: torch.Tensor, weight: float) -> torch.Tensor:
    """λ_idt · ‖G(y) − y‖₁: a generator fed its own output domain should change nothing (CycleGAN §5.2)."""
    return weight * F.l1_loss(idt, real)
