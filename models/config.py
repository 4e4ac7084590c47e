"""What a model reads from the options, as small frozen records built once in its constructor.

Options stop at the model constructor ("below them, explicit typed arguments"): a training step
reads ``self.optim.amp`` or ``self.lambda_L1``, never the mutable options object. Flags that exist only for
training (``--amp``, ``--lr_policy``, ...) are read only when ``opt.isTrain``: a test-time model gets
``OptimConfig()`` (every training feature off) and no schedule, explicitly rather than through getattr defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkConfig:
    """How ``define_G`` / ``define_D`` build the networks (--ngf, --netG, --norm, ...)."""

    ngf: int
    ndf: int
    netG: str
    netD: str
    n_layers_D: int
    norm: str
    use_dropout: bool
    init_type: str
    init_gain: float

    @classmethod
    def from_options(cls, opt) -> NetworkConfig:
        return cls(opt.ngf, opt.ndf, opt.netG, opt.netD, opt.n_layers_D, opt.norm, not opt.no_dropout,
                   opt.init_type, opt.init_gain)  # fmt: skip


@dataclass(frozen=True)
class OptimConfig:
    """Adam and the speed flags of a training step (--lr_G, --beta1, --amp, --channels_last, ...)."""

    lr_G: float = 0.0
    lr_D: float = 0.0
    beta1: float = 0.5
    amp: str = "none"  # none | bf16 | fp16
    channels_last: bool = False
    compile: bool = False
    grad_checkpoint: bool = False
    fused_adam: bool = False

    @classmethod
    def from_options(cls, opt) -> OptimConfig:
        if not opt.isTrain:
            return cls()  # test.py runs the networks as built: no AMP, no channels_last, no compile
        return cls(opt.lr_G, opt.lr_D, opt.beta1, opt.amp, opt.channels_last, opt.compile,
                   opt.grad_checkpoint, opt.fused_adam)  # fmt: skip


@dataclass(frozen=True)
class ScheduleConfig:
    """The learning-rate schedule (--lr_policy and its epochs), see models/schedulers.py."""

    lr_policy: str
    n_epochs: int
    n_epochs_decay: int
    epoch_count: int
    lr_decay_iters: int

    @classmethod
    def from_options(cls, opt) -> ScheduleConfig | None:
        if not opt.isTrain:
            return None
        return cls(opt.lr_policy, opt.n_epochs, opt.n_epochs_decay, opt.epoch_count, opt.lr_decay_iters)


@dataclass(frozen=True)
class NoiseScaleConfig:
    """--noise_scale: the batch geometry the estimate needs (models/noise_scale.py)."""

    batch_size: int
    accum_steps: int
    ema: float

    @classmethod
    def from_options(cls, opt) -> NoiseScaleConfig | None:
        if not (opt.isTrain and opt.noise_scale):
            return None
        return cls(opt.batch_size, opt.accum_steps, opt.noise_scale_ema)


@dataclass(frozen=True)
class LoadConfig:
    """Which weights ``setup`` loads: all of them at test time, on --continue_train when training."""

    load: bool
    label: str  # "latest", "20" or "iter_5000" (--epoch / --load_iter)
    verbose: bool

    @classmethod
    def from_options(cls, opt) -> LoadConfig:
        return cls(not opt.isTrain or opt.continue_train, checkpoint_label(opt), opt.verbose)


def checkpoint_label(opt) -> str:
    """The label of the weights --epoch / --load_iter name: `iter_{N}` when --load_iter N > 0."""
    return f"iter_{opt.load_iter}" if opt.load_iter > 0 else str(opt.epoch)
