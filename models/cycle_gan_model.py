"""CycleGAN (Zhu et al. 2017): two generators, two discriminators, cycle and identity losses, unpaired data."""

import itertools

import torch

from options.model_options import cycle_gan_options
from util.errors import UserError

from .base_model import BaseModel, register_model, set_requires_grad
from .checkpoint import unwrap
from .image_pool import ImagePool
from .losses import GANLoss, cal_gradient_penalty, cycle_loss, identity_loss


@register_model("cycle_gan")
class CycleGANModel(BaseModel):
    loss_names = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]

    modify_commandline_options = staticmethod(
        cycle_gan_options
    )  # options/model_options.py: torch-free, for --help

    def __init__(self, opt, device=None, ddp=False):
        super().__init__(opt, device, ddp)
        use_idt = self.isTrain and opt.lambda_identity > 0.0
        if use_idt and opt.input_nc != opt.output_nc:
            raise UserError(
                f"the identity loss (--lambda_identity {opt.lambda_identity}) needs --input_nc == --output_nc, "
                f"got {opt.input_nc} and {opt.output_nc}; pass --lambda_identity 0"
            )
        self.visual_names = ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"]
        if use_idt:
            self.visual_names += ["idt_B", "idt_A"]

        self.netG_A = self.generator(opt.input_nc, opt.output_nc)  # A -> B
        self.netG_B = self.generator(opt.output_nc, opt.input_nc)  # B -> A
        if self.isTrain:
            self.netD_A = self.discriminator(opt.output_nc)  # judges B
            self.netD_B = self.discriminator(opt.input_nc)  # judges A
            self.fake_A_pool = ImagePool(opt.pool_size)
            self.fake_B_pool = ImagePool(opt.pool_size)
            self.gan_mode: str = opt.gan_mode
            self.lambda_A: float = opt.lambda_A
            self.lambda_B: float = opt.lambda_B
            self.lambda_identity: float = opt.lambda_identity
            self.criterionGAN = GANLoss(opt.gan_mode).to(self.device)
            self._add_optimizer(
                "G", itertools.chain(self.netG_A.parameters(), self.netG_B.parameters()), self.optim.lr_G
            )
            self._add_optimizer(
                "D", itertools.chain(self.netD_A.parameters(), self.netD_B.parameters()), self.optim.lr_D
            )

    def networks(self):
        nets = {"G_A": self.netG_A, "G_B": self.netG_B}
        if self.isTrain:
            nets.update(D_A=self.netD_A, D_B=self.netD_B)
        return nets

    def image_pools(self):
        return {"fake_A": self.fake_A_pool, "fake_B": self.fake_B_pool} if self.isTrain else {}

    def set_input(self, batch: dict) -> None:
        self.real_A, self.real_B, self.image_paths = self.paired_input(batch)

    def forward(self) -> None:
        self.fake_B = self.netG_A(self.real_A)
        self.rec_A = self.netG_B(self.fake_B)
        self.fake_A = self.netG_B(self.real_B)
        self.rec_B = self.netG_A(self.fake_A)

    def generator_loss(self) -> torch.Tensor:
        terms = {}
        if self.lambda_identity > 0:
            # Identity (CycleGAN §5.2): G_A should leave real B unchanged, G_B real A.
            self.idt_A = self.netG_A(self.real_B)
            self.idt_B = self.netG_B(self.real_A)
            terms["idt_A"] = identity_loss(self.idt_A, self.real_B, self.lambda_B * self.lambda_identity)
            terms["idt_B"] = identity_loss(self.idt_B, self.real_A, self.lambda_A * self.lambda_identity)
        else:  # the reference still reports idt_A / idt_B (as 0): loss_log.txt keeps its 8 columns
            terms["idt_A"] = terms["idt_B"] = torch.zeros((), device=self.real_A.device)
        # Both D are frozen here; call the bare modules so DDP expects no gradient for them.
        terms["G_A"] = self.criterionGAN(unwrap(self.netD_A)(self.fake_B), True)
        terms["G_B"] = self.criterionGAN(unwrap(self.netD_B)(self.fake_A), True)
        terms["cycle_A"] = cycle_loss(self.rec_A, self.real_A, self.lambda_A)
        terms["cycle_B"] = cycle_loss(self.rec_B, self.real_B, self.lambda_B)
        self.record(terms)
        return sum(terms.values())

    def discriminator_loss(self, netD, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """0.5 · (GAN(D(real), 1) + GAN(D(fake), 0)): halved so D learns slower than G (CycleGAN §4)."""
        loss = 0.5 * (self.criterionGAN(netD(real), True) + self.criterionGAN(netD(fake.detach()), False))
        if self.gan_mode == "wgangp":  # SPEC §3 fix: apply the gradient penalty
            loss = loss + cal_gradient_penalty(unwrap(netD), real, fake.detach())[0]
        return loss

    def train_step(self, micro_batches: list[dict]) -> None:
        """G_A and G_B step first (D frozen), then D_A and D_B on fakes drawn from the pools (reference order)."""
        n = len(micro_batches)
        self.start_record(n)
        fakes = []
        set_requires_grad([self.netD_A, self.netD_B], False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        for _, last in self.micro_steps(micro_batches):
            with self.no_sync([self.netG_A, self.netG_B], last):
                with self.autocast():
                    self.forward()
                    loss_G = self.generator_loss()
                self.backward(loss_G, "G", 1.0 / n)
            fakes.append((self.fake_A.detach(), self.fake_B.detach()))
        self.step("G")

        set_requires_grad([self.netD_A, self.netD_B], True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        for i, last in self.micro_steps(micro_batches):
            fake_A, fake_B = fakes[i]
            with self.no_sync([self.netD_A, self.netD_B], last):
                with self.autocast():
                    loss_D_A = self.discriminator_loss(
                        self.netD_A, self.real_B, self.fake_B_pool.query(fake_B)
                    )
                    loss_D_B = self.discriminator_loss(
                        self.netD_B, self.real_A, self.fake_A_pool.query(fake_A)
                    )
                self.record({"D_A": loss_D_A, "D_B": loss_D_B})
                self.backward(loss_D_A + loss_D_B, "D", 1.0 / n)
        self.step("D")
        self.fake_A, self.fake_B = fakes[-1]
