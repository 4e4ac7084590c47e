"""A starting point for a new model: one generator trained by L1 regression on aligned pairs.

Copy this file, rename the class and the registered name, and change the networks and losses.
"""

from options.model_options import template_model_options

from .base_model import BaseModel, register_model
from .losses import l1_loss


@register_model("template")
class TemplateModel(BaseModel):
    # The reference lists "loss_G" here and then looks up "loss_loss_G", crashing at the first print (SPEC §2 fix).
    loss_names = ["G"]
    visual_names = ["data_A", "data_B", "output"]

    modify_commandline_options = staticmethod(
        template_model_options
    )  # options/model_options.py: torch-free, for --help

    def __init__(self, opt, device=None, ddp=False):
        super().__init__(opt, device, ddp)
        self.netG = self.generator(opt.input_nc, opt.output_nc)
        if self.isTrain:
            self.lambda_regression: float = opt.lambda_regression
            self._add_optimizer("G", self.netG.parameters(), self.optim.lr_G)

    def networks(self):
        return {"G": self.netG}

    def set_input(self, batch: dict) -> None:
        self.data_A, self.data_B, self.image_paths = self.paired_input(batch)

    def forward(self) -> None:
        self.output = self.netG(self.data_A)

    def train_step(self, micro_batches: list[dict]) -> None:
        n = len(micro_batches)
        self.start_record(n)
        self.optimizers["G"].zero_grad(set_to_none=True)
        for _, last in self.micro_steps(micro_batches):
            with self.no_sync([self.netG], last):
                with self.autocast():
                    self.forward()
                    loss = l1_loss(self.output, self.data_B, self.lambda_regression)
                self.record({"G": loss})
                self.backward(loss, "G", 1.0 / n)
        self.step("G")
