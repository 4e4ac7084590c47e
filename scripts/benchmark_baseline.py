"""The --baseline of scripts/benchmark.py: the reference's optimize_parameters() written out as plain eager
steps with their own Adam optimizers, on the networks of a model built as train.py builds it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.base_model import set_requires_grad


def _adam(params, lr: float, beta1: float) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=(beta1, 0.999))


def pix2pix_eager_step(m):
    """The reference's Pix2PixModel.optimize_parameters, written out."""
    o, crit = m.optim, m.criterionGAN
    opt_G, opt_D = _adam(m.netG.parameters(), o.lr_G, o.beta1), _adam(m.netD.parameters(), o.lr_D, o.beta1)

    def step() -> None:
        fake_B = m.netG(m.real_A)
        set_requires_grad([m.netD], True)
        opt_D.zero_grad()
        fake_AB = torch.cat((m.real_A, fake_B), 1)
        real_AB = torch.cat((m.real_A, m.real_B), 1)
        loss_D = 0.5 * (crit(m.netD(fake_AB.detach()), False) + crit(m.netD(real_AB), True))
        loss_D.backward()
        opt_D.step()
        set_requires_grad([m.netD], False)
        opt_G.zero_grad()
        loss_G = crit(m.netD(fake_AB), True) + F.l1_loss(fake_B, m.real_B) * m.lambda_L1
        loss_G.backward()
        opt_G.step()

    return step


def cycle_gan_eager_step(m):
    """The reference's CycleGANModel.optimize_parameters, written out (identity loss on, as by default)."""
    o, crit = m.optim, m.criterionGAN
    G_A, G_B, D_A, D_B = m.netG_A, m.netG_B, m.netD_A, m.netD_B
    opt_G = _adam([*G_A.parameters(), *G_B.parameters()], o.lr_G, o.beta1)
    opt_D = _adam([*D_A.parameters(), *D_B.parameters()], o.lr_D, o.beta1)
    l_A, l_B, l_idt = m.lambda_A, m.lambda_B, m.lambda_identity

    def backward_D(netD, real, fake) -> None:
        (0.5 * (crit(netD(real), True) + crit(netD(fake.detach()), False))).backward()

    def step() -> None:
        real_A, real_B = m.real_A, m.real_B
        fake_B, fake_A = G_A(real_A), G_B(real_B)
        rec_A, rec_B = G_B(fake_B), G_A(fake_A)
        set_requires_grad([D_A, D_B], False)
        opt_G.zero_grad()
        idt_A, idt_B = G_A(real_B), G_B(real_A)
        loss_G = (
            crit(D_A(fake_B), True)
            + crit(D_B(fake_A), True)
            + F.l1_loss(rec_A, real_A) * l_A
            + F.l1_loss(rec_B, real_B) * l_B
            + F.l1_loss(idt_A, real_B) * l_B * l_idt
            + F.l1_loss(idt_B, real_A) * l_A * l_idt
        )
        loss_G.backward()
        opt_G.step()
        set_requires_grad([D_A, D_B], True)
        opt_D.zero_grad()
        backward_D(D_A, real_B, m.fake_B_pool.query(fake_B))
        backward_D(D_B, real_A, m.fake_A_pool.query(fake_A))
        opt_D.step()

    return step


EAGER_STEPS = {"pix2pix": pix2pix_eager_step, "cycle_gan": cycle_gan_eager_step}
