"""Options stop at the model constructor: steps, setup and loading read typed records (models/config.py)."""

from types import SimpleNamespace

import pytest
import torch

from models import create_model
from models.config import LoadConfig, OptimConfig, ScheduleConfig
from options import parse_test_options
from tests.helpers import random_batch, tiny_argv, tiny_train_options
from tests.test_models import TRAINABLE, snapshot


def tiny_test_options(tmp_path, model: str, *extra: str):
    return parse_test_options(tiny_argv(tmp_path, model, *extra))


# A loss weight off its default per model, so that a step reading it anywhere but its record would show.
NON_DEFAULT_WEIGHTS = {
    "pix2pix": ["--lambda_L1", "7"],
    "colorization": ["--lambda_L1", "7"],
    "cycle_gan": ["--lambda_identity", "0.25", "--lambda_B", "3"],
    "template": ["--lambda_regression", "3"],
}


@pytest.mark.parametrize("name", TRAINABLE)
def test_setup_and_steps_read_nothing_from_the_options_after_construction(tmp_path, name):
    """A model whose options object is emptied right after construction trains exactly like one whose is not."""
    steps = []
    for empty_options in (False, True):
        torch.manual_seed(0)
        opt = tiny_train_options(tmp_path, name, "--lr_policy", "cosine", *NON_DEFAULT_WEIGHTS.get(name, []))
        model = create_model(opt)
        channels = SimpleNamespace(input_nc=opt.input_nc, output_nc=opt.output_nc)  # for random_batch
        if empty_options:
            vars(opt).clear()
        model.setup(opt)
        assert not hasattr(model, "opt")
        torch.manual_seed(1)
        for seed in (1, 2):
            model.set_input(random_batch(channels, seed=seed))
            model.optimize_parameters()
        model.update_learning_rate()
        steps.append((model.get_current_losses(), snapshot(model), model.learning_rates()))
    (losses, weights, lrs), (losses_empty, weights_empty, lrs_empty) = steps
    assert losses_empty == losses and lrs_empty == lrs
    for net_name, state in weights.items():
        for k, v in state.items():
            assert torch.equal(weights_empty[net_name][k], v), (net_name, k)


def test_training_flags_reach_the_typed_records(tmp_path):
    opt = tiny_train_options(tmp_path, "pix2pix", "--lr_G", "1e-3", "--lr_D", "4e-4", "--beta1", "0.3",
                             "--amp", "bf16", "--channels_last", "--lr_policy", "step", "--lr_decay_iters", "3",
                             "--n_epochs", "2", "--n_epochs_decay", "4", "--lambda_L1", "7", "--gan_mode", "wgangp")  # fmt: skip
    model = create_model(opt)
    assert model.optim == OptimConfig(lr_G=1e-3, lr_D=4e-4, beta1=0.3, amp="bf16", channels_last=True)
    assert model.schedule == ScheduleConfig(
        "step", n_epochs=2, n_epochs_decay=4, epoch_count=1, lr_decay_iters=3
    )
    assert model.amp_dtype is torch.bfloat16 and model.channels_last
    assert (model.lambda_L1, model.gan_mode) == (7.0, "wgangp")
    assert model.load_config == LoadConfig(load=False, label="latest", verbose=False)
    assert model.optimizers["G"].param_groups[0]["betas"] == (0.3, 0.999)


def test_test_time_options_lack_training_flags_and_the_model_turns_them_off(tmp_path):
    opt = tiny_test_options(tmp_path, "pix2pix", "--load_iter", "5")
    assert not hasattr(opt, "amp") and not hasattr(opt, "lr_policy")  # what the guards used to paper over
    model = create_model(opt)
    assert model.optim == OptimConfig() and model.amp_dtype is None and not model.channels_last
    assert model.schedule is None and model.noise_scale_config is None
    assert model.load_config == LoadConfig(load=True, label="iter_5", verbose=False)
    assert list(model.networks()) == ["G"]


@pytest.mark.parametrize("suffix", ["", "_ema"])
def test_setup_loads_the_weights_named_by_epoch_and_the_suffix_test_py_sets(tmp_path, suffix):
    torch.manual_seed(0)
    trained = create_model(tiny_train_options(tmp_path, "pix2pix"))
    raw = {k: v.clone() for k, v in trained.netG.state_dict().items()}
    averaged = {k: v + 1.0 if v.is_floating_point() else v for k, v in raw.items()}
    trained.save_networks("latest")
    torch.save(averaged, tmp_path / "ck" / "t" / "latest_net_G_ema.pth")
    model = create_model(tiny_test_options(tmp_path, "pix2pix"))
    model.load_suffix = suffix  # test.py: "_ema" for a run trained with --ema_decay, unless --no_ema
    model.setup()
    expected = averaged if suffix else raw
    for k, v in model.netG.state_dict().items():
        assert torch.equal(v, expected[k]), k
