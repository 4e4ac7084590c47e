"""Model registry. Every model module is imported here, so grep finds what `--model NAME` runs.

model = create_model(opt, device)      # the class registered under opt.model
g = load_generator("checkpoints/NAME")  # a trained generator for any image (models/inference.py)
"""

from util.distributed import print0

from . import colorization_model, cycle_gan_model, pix2pix_model, template_model, test_model  # noqa: F401  (fill MODELS)
from .base_model import MODELS, BaseModel, register_model
from .inference import load_generator

__all__ = ["MODELS", "BaseModel", "create_model", "get_option_setter", "load_generator", "register_model"]


def find_model_class(name: str) -> type[BaseModel]:
    """The model class registered as `name`; UserError listing the choices otherwise."""
    return MODELS.get(name)


def get_option_setter(name: str):
    return find_model_class(name).modify_commandline_options


def create_model(opt, device=None, ddp: bool = False) -> BaseModel:
    model = find_model_class(opt.model)(opt, device=device, ddp=ddp)
    print0(f"model [{type(model).__name__}] was created")
    return model
