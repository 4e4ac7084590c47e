"""Generators, discriminators, norms and weight init of pix2pix / CycleGAN (SPEC §3): ``define_G`` / ``define_D``.

Module structure is API: every ``nn.Sequential`` and its member order reproduce the reference, so its
published checkpoints load with ``strict=True`` (keys pinned by ``reference_state_dict_keys.json``).
Names map to constructors through the tables ``NORMS`` (models/norms.py), ``GENERATORS``
(models/generators.py) and ``DISCRIMINATORS`` (models/discriminators.py); the ``define_*`` functions below
are the only place that turns option strings into modules. Every name this module held before it was
split into those three files is still importable from here.
"""

from __future__ import annotations

from torch import nn

from util.errors import UserError

from .discriminators import (  # noqa: F401  (re-exported)
    DISCRIMINATOR_NAMES,
    DISCRIMINATORS,
    NLayerDiscriminator,
    PixelDiscriminator,
)
from .generators import (  # noqa: F401  (re-exported)
    GENERATOR_NAMES,
    GENERATOR_SIZE_MULTIPLES,
    GENERATORS,
    ResnetBlock,
    ResnetGenerator,
    UnetGenerator,
    UnetSkipConnectionBlock,
    run_checkpointed,
)
from .losses import GANLoss, cal_gradient_penalty  # noqa: F401  (re-exported: scripts call networks.GANLoss)
from .norms import (  # noqa: F401  (re-exported)
    INIT_FUNCS,
    INIT_TYPES,
    NORM_ALIASES,
    NORM_NAMES,
    NORMS,
    NormLayer,
    get_norm_layer,
    init_weights,
)
from .schedulers import get_scheduler  # noqa: F401  (re-exported like the reference's networks.get_scheduler)


def define_G(
    input_nc: int,
    output_nc: int,
    ngf: int,
    netG: str,
    norm: str = "batch",
    use_dropout: bool = False,
    init_type: str = "normal",
    init_gain: float = 0.02,
    grad_checkpoint: bool = False,
) -> nn.Module:
    """The initialised generator ``--netG``, on the CPU (the model moves it to its device)."""
    if netG not in GENERATORS:
        raise UserError(f"--netG {netG} is unknown; choose one of: {', '.join(GENERATOR_NAMES)}")
    norm_layer = get_norm_layer(norm)
    net = GENERATORS[netG](
        input_nc,
        output_nc,
        ngf=ngf,
        norm_layer=norm_layer,
        use_dropout=use_dropout,
        grad_checkpoint=grad_checkpoint,
    )
    return init_weights(net, init_type, init_gain)


def define_D(
    input_nc: int,
    ndf: int,
    netD: str,
    n_layers_D: int = 3,
    norm: str = "batch",
    init_type: str = "normal",
    init_gain: float = 0.02,
) -> nn.Module:
    """The initialised discriminator ``--netD``, on the CPU (the model moves it to its device)."""
    if netD not in DISCRIMINATORS:
        raise UserError(f"--netD {netD} is unknown; choose one of: {', '.join(DISCRIMINATOR_NAMES)}")
    net = DISCRIMINATORS[netD](input_nc, ndf, n_layers_D, get_norm_layer(norm))
    return init_weights(net, init_type, init_gain)
