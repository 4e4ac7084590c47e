"""pix2pix (Isola et al. 2017): conditional GAN + L1 on paired images."""

import torch

from options.model_options import pix2pix_options

from .base_model import BaseModel, capture_rng, register_model, restore_rng, set_requires_grad
from .checkpoint import unwrap
from .losses import GANLoss, cal_gradient_penalty, l1_loss


@register_model("pix2pix")
class Pix2PixModel(BaseModel):
    loss_names = ["G_GAN", "G_L1", "D_real", "D_fake"]
    visual_names = ["real_A", "fake_B", "real_B"]

    modify_commandline_options = staticmethod(
        pix2pix_options
    )  # options/model_options.py: torch-free, for --help

    def __init__(self, opt, device=None, ddp=False):
        super().__init__(opt, device, ddp)
        self.netG = self.generator(opt.input_nc, opt.output_nc)
        if self.isTrain:
            # D is conditional: it sees the input and the output stacked on channels.
            self.netD = self.discriminator(opt.input_nc + opt.output_nc)
            self.gan_mode: str = opt.gan_mode
            self.lambda_L1: float = opt.lambda_L1
            self.criterionGAN = GANLoss(opt.gan_mode).to(self.device)
            self._add_optimizer("G", self.netG.parameters(), self.optim.lr_G)
            self._add_optimizer("D", self.netD.parameters(), self.optim.lr_D)

    def networks(self):
        return {"G": self.netG, "D": self.netD} if self.isTrain else {"G": self.netG}

    def set_input(self, batch: dict) -> None:
        self.real_A, self.real_B, self.image_paths = self.paired_input(batch)

    def forward(self) -> None:
        self.fake_B = self.netG(self.real_A)

    def discriminator_loss(self) -> torch.Tensor:
        fake_AB = torch.cat((self.real_A, self.fake_B.detach()), 1)
        real_AB = torch.cat((self.real_A, self.real_B), 1)
        loss_fake = self.criterionGAN(self.netD(fake_AB), False)
        loss_real = self.criterionGAN(self.netD(real_AB), True)
        loss = 0.5 * (loss_fake + loss_real)
        terms = {"D_fake": loss_fake, "D_real": loss_real}
        if self.gan_mode == "wgangp":  # SPEC §3 fix: the reference defines the penalty but never adds it
            terms["D_gp"], _ = cal_gradient_penalty(unwrap(self.netD), real_AB, fake_AB)
            loss = loss + terms["D_gp"]
        self.record(terms)
        return loss

    def generator_loss(self) -> torch.Tensor:
        # D is frozen here; call the bare module so DDP expects no gradient for it.
        pred_fake = unwrap(self.netD)(torch.cat((self.real_A, self.fake_B), 1))
        terms = {
            "G_GAN": self.criterionGAN(pred_fake, True),
            "G_L1": l1_loss(self.fake_B, self.real_B, self.lambda_L1),
        }
        self.record(terms)
        return terms["G_GAN"] + terms["G_L1"]

    def train_step(self, micro_batches: list[dict]) -> None:
        """One D step then one G step (paper §3.3), each over all micro-batches.

        With K > 1 micro-batches the G step must see the updated D, as a batch of K·b would; the fakes
        are recomputed for it under the same random state (same dropout masks) instead of keeping K graphs.
        """
        n = len(micro_batches)
        self.start_record(n)
        rng_states = []
        set_requires_grad([self.netD], True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        for _, last in self.micro_steps(micro_batches):
            if n > 1:
                rng_states.append(capture_rng(self.device))
            with self.no_sync([self.netD], last):
                with torch.set_grad_enabled(n == 1), self.autocast():
                    self.forward()
                with self.autocast():
                    loss_D = self.discriminator_loss()
                self.backward(loss_D, "D", 1.0 / n)
        self.step("D")

        set_requires_grad([self.netD], False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        for i, last in self.micro_steps(micro_batches):
            with self.no_sync([self.netG], last):
                with self.autocast():
                    if n > 1:
                        restore_rng(rng_states[i], self.device)
                        self.forward()
                    loss_G = self.generator_loss()
                self.backward(loss_G, "G", 1.0 / n)
        self.step("G")
        set_requires_grad([self.netD], True)
