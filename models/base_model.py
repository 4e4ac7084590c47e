"""BaseModel: what every model shares -- networks, optimizers, schedules, checkpoints, AMP, DDP, accumulation.

A model subclass says what it is through three tables and two steps:

* ``networks()`` -> ``{"G": self.netG, "D": self.netD}`` (the names in checkpoint file names),
* ``loss_names`` / ``visual_names`` (the reference's names, shown in logs and galleries),
* ``set_input(batch)`` and ``train_step(micro_batches)`` (one optimizer step over 1..K micro-batches).

The reference's ``optimize_parameters()`` is ``train_step([current input])``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from options.model_options import no_options
from util.distributed import print0
from util.errors import UserError
from util.registry import Registry

from .checkpoint import cpu_state_dict, load_network_weights, unwrap
from .checkpoint_set import save_set, weights_file
from .config import LoadConfig, NetworkConfig, NoiseScaleConfig, OptimConfig, ScheduleConfig
from .networks import define_D, define_G
from .noise_scale import NoiseScaleMonitor, check_noise_scale_options
from .schedulers import EpochSchedule, get_scheduler, step_scheduler

MODELS: Registry = Registry("--model")  # filled by @register_model in the modules models/__init__.py imports
register_model = MODELS.register

AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def set_requires_grad(nets: list[nn.Module], requires_grad: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(requires_grad)


def capture_rng(device: torch.device) -> dict:
    """Every random state a training step can touch (for exact resume and exact recomputation)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    # numpy's key array travels as a tensor so the state loads with torch.load(weights_only=True)
    numpy_state = (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss)
    state = {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


class BaseModel:
    loss_names: list[str] = []
    visual_names: list[str] = []

    modify_commandline_options = staticmethod(no_options)  # the hooks: options/model_options.py

    def __init__(self, opt, device: torch.device | None = None, ddp: bool = False):
        # The options are read here (and in the subclass constructors) only: steps read these typed records.
        self.isTrain: bool = opt.isTrain
        self.device = device if device is not None else torch.device("cpu")
        self.ddp = ddp
        self.save_dir = os.path.join(opt.checkpoints_dir, opt.name)
        self.direction: str = opt.direction
        self.net_config = NetworkConfig.from_options(opt)
        self.optim = OptimConfig.from_options(opt)  # every speed flag off at test time
        self.schedule = ScheduleConfig.from_options(opt)  # None at test time
        # None unless training with --noise_scale
        self.noise_scale_config = NoiseScaleConfig.from_options(opt)
        self.load_config = LoadConfig.from_options(opt)
        self.load_suffix = ""  # test.py sets "_ema" to load the averaged generator of a run with --ema_decay
        self.amp_dtype = AMP_DTYPES[self.optim.amp]
        self.channels_last = self.optim.channels_last
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, object] = {}
        self.scalers: dict[str, torch.amp.GradScaler] = {}
        self.loss: dict[str, torch.Tensor] = {}
        self.image_paths: list[str] = []
        self.noise_scale: NoiseScaleMonitor | None = None  # --noise_scale: set by start_noise_scale()
        self.ema = None  # a models.ema.GeneratorEMA when training with --ema_decay; saved with the weights

    # -- what a subclass provides -------------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def set_input(self, batch: dict) -> None:
        raise NotImplementedError

    def forward(self) -> None:
        raise NotImplementedError

    def train_step(self, micro_batches: list[dict]) -> None:
        raise NotImplementedError

    def paired_input(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """(source, target, source paths) on the device; `--direction BtoA` swaps A and B (the reference's set_input)."""
        a_to_b = self.direction == "AtoB"
        self._current_batch = batch
        source, target = (batch["A"], batch["B"]) if a_to_b else (batch["B"], batch["A"])
        return self.to_device(source), self.to_device(target), batch["A_paths" if a_to_b else "B_paths"]

    def optimize_parameters(self) -> None:
        """The reference's one step on the current input (set by ``set_input``)."""
        self.train_step([self._current_batch])

    # -- set-up ---------------------------------------------------------------------------------------------
    def _prepare(self, net: nn.Module) -> nn.Module:
        """Move to the device, apply the speed flags, wrap in DDP under torchrun. Keys stay the reference's."""
        net = net.to(self.device)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
            for module in net.modules():
                if isinstance(module, nn.InstanceNorm2d):
                    module.register_forward_hook(_contiguous_grad_hook)
        if self.optim.compile:
            net.compile()  # in place: the state_dict keeps its plain names (no `_orig_mod.`)
        if self.ddp and self.isTrain and any(p.requires_grad for p in net.parameters()):
            ids = [self.device.index] if self.device.type == "cuda" else None
            net = nn.parallel.DistributedDataParallel(net, device_ids=ids)
        return net

    def generator(self, input_nc: int, output_nc: int) -> nn.Module:
        """The generator the options describe, on the device (activation checkpointing only when training)."""
        c = self.net_config
        net = define_G(input_nc, output_nc, c.ngf, c.netG, c.norm, c.use_dropout, c.init_type, c.init_gain,
                       grad_checkpoint=self.optim.grad_checkpoint)  # fmt: skip
        return self._prepare(net)

    def discriminator(self, input_nc: int) -> nn.Module:
        """The discriminator the options describe, on the device."""
        c = self.net_config
        return self._prepare(
            define_D(input_nc, c.ndf, c.netD, c.n_layers_D, c.norm, c.init_type, c.init_gain)
        )

    def _add_optimizer(self, key: str, params, lr: float) -> None:
        fused = self.optim.fused_adam  # off by default: the reference's update loop
        optimizer = torch.optim.Adam(params, lr=lr, betas=(self.optim.beta1, 0.999), fused=fused or None)
        self.optimizers[key] = optimizer
        self.scalers[key] = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype is torch.float16)

    def setup(self, opt=None) -> None:
        """Create schedulers when training; load weights when testing or resuming (the reference's setup).

        Everything it needs was read from the options by the constructor; ``opt`` stays for the reference's
        call ``model.setup(opt)`` and is not read.
        """
        if self.noise_scale_config is not None:
            self.start_noise_scale(self.noise_scale_config)
        if self.schedule is not None:
            s = self.schedule
            for key, optimizer in self.optimizers.items():
                self.schedulers[key] = get_scheduler(optimizer, s.lr_policy, n_epochs=s.n_epochs,
                                                     n_epochs_decay=s.n_epochs_decay, epoch_count=s.epoch_count,
                                                     lr_decay_iters=s.lr_decay_iters)  # fmt: skip
        if self.load_config.load:
            self.load_networks(self.load_config.label, suffix=self.load_suffix)
        if self.load_config.verbose:
            self.print_networks()

    def start_noise_scale(self, config: NoiseScaleConfig) -> None:
        """--noise_scale: measure B_simple for each optimizer during training (models/noise_scale.py)."""
        world_size = torch.distributed.get_world_size() if self.ddp else 1
        check_noise_scale_options(self.net_config.norm, config.batch_size, config.accum_steps, world_size)
        self.noise_scale = NoiseScaleMonitor(self.optimizers, self.networks(), config.batch_size, config.accum_steps,
                                             decay=config.ema, world_size=world_size)  # fmt: skip

    # -- steps ----------------------------------------------------------------------------------------------
    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def to_device(self, t: torch.Tensor) -> torch.Tensor:
        t = t.to(self.device, non_blocking=True)
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last and t.dim() == 4 else t

    def backward(self, loss: torch.Tensor, optimizer_key: str, scale: float = 1.0) -> None:
        # `scale` is 1/K under accumulation; a plain step skips the multiply (x·1.0 == x, so nothing changes).
        self.scalers[optimizer_key].scale(loss if scale == 1.0 else loss * scale).backward()
        if self.noise_scale is not None:
            self.noise_scale.after_backward(optimizer_key)

    def step(self, optimizer_key: str) -> None:
        scaler = self.scalers[optimizer_key]
        if self.noise_scale is not None:
            self.noise_scale.before_step(optimizer_key, scaler.get_scale())
        scaler.step(self.optimizers[optimizer_key])
        scaler.update()

    def no_sync(self, nets: list[nn.Module], last: bool):
        """DDP all-reduces gradients only on the last micro-step of an accumulated step."""
        stack = contextlib.ExitStack()
        if not last:
            for net in nets:
                if isinstance(net, nn.parallel.DistributedDataParallel):
                    stack.enter_context(net.no_sync())
        return stack

    def start_record(self, n_micro: int) -> None:
        """Losses shown for a step are means over its micro-batches."""
        self.loss = {}
        self._n_micro = n_micro

    def record(self, terms: dict[str, torch.Tensor]) -> None:
        for name, value in terms.items():
            if self._n_micro == 1 and name not in self.loss:  # a plain step: the value is the mean
                self.loss[name] = value.detach()
            else:
                self.loss[name] = self.loss.get(name, 0.0) + value.detach().float() / self._n_micro

    def micro_steps(self, micro_batches: list[dict]) -> Iterator[tuple[int, bool]]:
        """Yield (index, is_last) and set the input for each micro-batch in turn."""
        for i, batch in enumerate(micro_batches):
            self.set_input(batch)
            yield i, i == len(micro_batches) - 1

    # -- evaluation -----------------------------------------------------------------------------------------
    def eval(self) -> None:
        for net in self.networks().values():
            net.eval()

    def train(self) -> None:
        for net in self.networks().values():
            net.train()

    def test(self) -> None:
        with torch.no_grad():
            self.forward()
            self.compute_visuals()

    def compute_visuals(self) -> None:
        pass

    def get_image_paths(self) -> list[str]:
        return self.image_paths

    def get_current_visuals(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, name) for name in self.visual_names}

    def get_current_losses(self) -> dict[str, float]:
        """The step's losses; with --noise_scale also noise_scale_G / noise_scale_D (B_simple, logged alike)."""
        losses = {name: float(self.loss[name]) for name in self.loss_names if name in self.loss}
        if self.noise_scale is not None:
            losses.update(self.noise_scale.values())
        return losses

    # -- schedules ------------------------------------------------------------------------------------------
    def update_learning_rate(self, metric: float | None = None) -> None:
        """Step every schedule once (end of epoch). ``metric`` feeds the plateau policy (SPEC §4 fix)."""
        first = next(iter(self.optimizers.values()))
        old_lr = first.param_groups[0]["lr"]
        for scheduler in self.schedulers.values():
            step_scheduler(scheduler, metric)
        lr = first.param_groups[0]["lr"]
        if lr != old_lr:
            print0(f"learning rate {old_lr:.7f} -> {lr:.7f}")

    def learning_rates(self) -> dict[str, float]:
        return {key: opt.param_groups[0]["lr"] for key, opt in self.optimizers.items()}

    # -- checkpoints ----------------------------------------------------------------------------------------
    def checkpoint_path(self, label: str, net_name: str) -> str:
        return os.path.join(self.save_dir, weights_file(label, net_name))

    def save_networks(
        self, label: str | int, train_state: dict | None = None, info: dict | None = None
    ) -> str:
        """Save the weights (with the generator averages under --ema_decay, and ``train_state`` when given) as
        one checkpoint set (models/checkpoint_set.py); returns the save id."""
        weights = {name: cpu_state_dict(net) for name, net in self.networks().items()}
        if self.ema is not None:
            weights |= self.ema.state_dicts()
        return save_set(self.save_dir, label, weights, train_state, info or {})

    def load_networks(self, label: str | int, suffix: str = "") -> None:
        """Load `{label}_net_{name}{suffix}.pth` into each network (suffix "_ema": the averaged generator)."""
        for name, net in self.networks().items():
            path = self.checkpoint_path(str(label), name + suffix)
            if not os.path.isfile(path):
                raise UserError(missing_checkpoint_message(path, self.save_dir))
            load_network_weights(unwrap(net), path, flag_hint=f"for network {name}")

    def training_state(self) -> dict:
        """Everything beyond the weights that a bit-exact resume needs (train.py adds progress and random states)."""
        return {
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
            "pools": {k: p.state_dict() for k, p in self.image_pools().items()},
        }

    def load_training_state(self, state: dict) -> None:
        for key, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][key])
        for key, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][key])
            resync_learning_rate(scheduler)
        for key, scaler in self.scalers.items():
            scaler.load_state_dict(state["scalers"][key])
        for key, pool in self.image_pools().items():
            pool.load_state_dict(state["pools"][key], self.device)

    def image_pools(self) -> dict:
        return {}

    def print_networks(self) -> None:
        print0("---------- Networks initialized -------------")
        for name, net in self.networks().items():
            n = sum(p.numel() for p in net.parameters())
            print0(f"[Network {name}] Total number of parameters : {n / 1e6:.3f} M")
        print0("-----------------------------------------------")


def _contiguous_grad_hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
    """Work around a PyTorch CPU bug: InstanceNorm2d's backward returns wrong input gradients when the incoming
    gradient is channels_last and the batch holds one image (measured on torch 2.15: errors of order 1).
    Making that gradient contiguous costs one copy. tests/test_models.py::test_channels_last_step_matches_default
    pins it."""
    if output.requires_grad:
        output.register_hook(lambda grad: grad.contiguous())


def resync_learning_rate(scheduler) -> None:
    """Set the optimizer's lr from the schedule at its restored position.

    A resume may extend the run (`--n_epochs_decay` raised after a run ended): the lr stored in the optimizer
    is then the old schedule's, so recompute it from the schedule the options now describe.
    """
    if not isinstance(
        scheduler, EpochSchedule
    ):  # ReduceLROnPlateau: the lr is history, not a formula; keep it
        return
    lrs = scheduler.get_lr()
    for group, lr in zip(scheduler.optimizer.param_groups, lrs):
        group["lr"] = lr
    scheduler._last_lr = list(lrs)


def missing_checkpoint_message(path: str, save_dir: str) -> str:
    if not os.path.isdir(save_dir):
        return f"no checkpoint folder {save_dir}; check --name and --checkpoints_dir"
    found = sorted(os.path.basename(p) for p in glob.glob(os.path.join(save_dir, "*.pth")))
    found = [f for f in found if "_net_" in f]
    listing = ", ".join(found[:12]) + (" ..." if len(found) > 12 else "") if found else "none"
    return f"checkpoint {path} not found; .pth files in {save_dir}: {listing} (choose with --epoch / --load_iter)"
