"""The gradient noise scale of McCandlish et al. 2018 ("An Empirical Model of Large-Batch Training", App. A.1).

B_simple = tr(Σ) / |G|², with G the true gradient and Σ the per-sample gradient covariance: the batch size
above which a bigger batch buys little (the paper's rough critical batch). It is estimated from the squared
norms of the same parameters' gradient at two batch sizes B_small < B_big, taken in the same optimizer step:

    |G|²  ≈ (B_big·|g_big|² − B_small·|g_small|²) / (B_big − B_small)
    tr Σ  ≈ (|g_small|² − |g_big|²) / (1/B_small − 1/B_big)
    B_simple = EMA(tr Σ) / EMA(|G|²)

Both are unbiased but very noisy per step, hence the EMAs (the ratio of EMAs, not the EMA of ratios).

Where the two batch sizes come from, per optimizer step (``NoiseScaleMonitor``):

* under DDP: each process's own gradient (B_small = batch_size · accum_steps) against the all-reduced one
  (B_big = B_small · processes); |g_small|² is averaged over processes;
* else with ``--accum_steps K > 1``: each micro-batch's gradient (B_small = batch_size) against the step's
  mean (B_big = K · batch_size); |g_small|² is averaged over the micro-batches;
* else the batch is split in two micro-batches (``split_batches``), which with per-image normalization
  gives the same step as the whole batch.

The estimator assumes the samples of a batch are independent; BatchNorm couples them, so it is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from util.errors import UserError

BATCH_NORMS = ("batch", "syncbatch", "sync_batch")


def two_batch_estimates(
    g_small_sq: float, g_big_sq: float, b_small: float, b_big: float
) -> tuple[float, float]:
    """(|G|², tr Σ) from the squared gradient norms at batch sizes b_small < b_big (McCandlish App. A.1)."""
    if not 0 < b_small < b_big:
        raise ValueError(f"need 0 < b_small < b_big, got {b_small} and {b_big}")
    true_sq = (b_big * g_big_sq - b_small * g_small_sq) / (b_big - b_small)
    trace = (g_small_sq - g_big_sq) / (1.0 / b_small - 1.0 / b_big)
    return true_sq, trace


@dataclass
class NoiseScale:
    """Exponential moving averages of |G|² and tr Σ; ``value`` is B_simple = EMA(tr Σ) / EMA(|G|²).

    Both EMAs start at zero with the same decay, so their start-up bias cancels in the ratio.
    """

    decay: float = 0.9
    ema_true_sq: float = 0.0
    ema_trace: float = 0.0
    count: int = 0

    def update(self, g_small_sq: float, g_big_sq: float, b_small: float, b_big: float) -> None:
        true_sq, trace = two_batch_estimates(g_small_sq, g_big_sq, b_small, b_big)
        if not (math.isfinite(true_sq) and math.isfinite(trace)):
            return  # an fp16 step with overflowed gradients: skipped by the optimizer too
        self.ema_true_sq = self.decay * self.ema_true_sq + (1 - self.decay) * true_sq
        self.ema_trace = self.decay * self.ema_trace + (1 - self.decay) * trace
        self.count += 1

    @property
    def value(self) -> float:
        """B_simple; NaN before the first update, inf while the EMA of |G|² is not positive."""
        if self.count == 0:
            return math.nan
        return self.ema_trace / self.ema_true_sq if self.ema_true_sq > 0 else math.inf


def grad_sq_norm(params: list[nn.Parameter]) -> torch.Tensor:
    """|g|² of the parameters' current .grad (float64, on their device)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), dtype=torch.float64)
    return sum(g.detach().double().pow(2).sum() for g in grads)


def split_batch(batch: dict) -> list[dict]:
    """Two equal halves of a batch (tensors and path lists alike); an odd batch (an epoch's short last one)
    stays whole, and its step is then not measured."""
    n = len(next(v for v in batch.values() if torch.is_tensor(v)))
    if n % 2:
        return [batch]
    return [{k: v[: n // 2] for k, v in batch.items()}, {k: v[n // 2 :] for k, v in batch.items()}]


def check_noise_scale_options(norm: str, batch_size: int, accum_steps: int, world_size: int) -> None:
    """UserError when --noise_scale cannot be estimated for these options."""
    if norm in BATCH_NORMS:
        raise UserError(
            f"--noise_scale assumes the images of a batch give independent gradients, which --norm {norm} breaks "
            "(its statistics mix the batch); train with --norm instance to measure the noise scale"
        )
    if batch_size < 2 and accum_steps < 2 and world_size < 2:
        raise UserError(
            "--noise_scale compares gradients at two batch sizes; use --batch_size 2 or more, "
            "--accum_steps 2 or more, or several processes under torchrun"
        )
    if batch_size % 2 and accum_steps < 2 and world_size < 2:
        raise UserError(
            f"--noise_scale splits each batch in two equal halves; use an even --batch_size (got {batch_size}) "
            "or --accum_steps 2 or more"
        )


class NoiseScaleMonitor:
    """Measures B_simple for each optimizer of a model during its normal training steps.

    The model calls ``after_backward(key)`` after each micro-batch's backward and ``before_step(key, scale)``
    before its optimizer step; ``values()`` gives ``{"noise_scale_G": ..., "noise_scale_D": ...}``.
    """

    def __init__(
        self,
        optimizers: dict[str, torch.optim.Optimizer],
        networks: dict[str, nn.Module],
        batch_size: int,
        accum_steps: int,
        decay: float = 0.9,
        world_size: int = 1,
    ) -> None:
        self.params = {k: [p for g in o.param_groups for p in g["params"]] for k, o in optimizers.items()}
        self.estimates = {key: NoiseScale(decay) for key in optimizers}
        self.world_size = world_size
        self.split = world_size == 1 and accum_steps == 1  # no second batch size: split each batch in two
        self.micro_batch_size = batch_size / 2 if self.split else batch_size
        self._local_sq = dict.fromkeys(optimizers, 0.0)  # DDP: this process's |g|², summed over buckets
        self._n_micro = dict.fromkeys(optimizers, 0)
        self._micro_sq: dict[str, list[float]] = {key: [] for key in optimizers}
        self._previous: dict[str, list[torch.Tensor | None]] = {}
        if world_size > 1:
            self._hook_ddp(networks)

    def micro_batches(self, micro_batches: list[dict]) -> list[dict]:
        """What train_step should get: each batch in two halves when that is the only second batch size."""
        if not self.split:
            return micro_batches
        return [half for batch in micro_batches for half in split_batch(batch)]

    # -- DDP: each process's gradient, read by a comm hook just before the all-reduce --------------------------
    def _hook_ddp(self, networks: dict[str, nn.Module]) -> None:
        from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

        owner = {id(p): key for key, params in self.params.items() for p in params}
        for net in networks.values():
            if not isinstance(net, nn.parallel.DistributedDataParallel):
                continue
            key = owner[id(next(net.parameters()))]

            def hook(state, bucket, key=key):
                # The bucket holds this process's (accumulated) gradient, not yet divided by the world size.
                self._local_sq[key] += float(bucket.buffer().double().pow(2).sum())
                return allreduce_hook(state, bucket)

            net.register_comm_hook(None, hook)

    # -- called by BaseModel ----------------------------------------------------------------------------------
    def after_backward(self, key: str) -> None:
        """Accumulation: the micro-batch's gradient is the growth of .grad since the previous micro-batch."""
        self._n_micro[key] += 1
        if self.world_size > 1:
            return
        params = self.params[key]
        previous = self._previous.get(key)
        total = 0.0
        for i, p in enumerate(params):
            if p.grad is None:
                continue
            grad = p.grad.detach().double()
            before = previous[i] if previous is not None else None
            total += float((grad - before).pow(2).sum() if before is not None else grad.pow(2).sum())
        self._micro_sq[key].append(total)
        self._previous[key] = [None if p.grad is None else p.grad.detach().double().clone() for p in params]

    def before_step(self, key: str, grad_scale: float = 1.0) -> None:
        """Update the estimate from this step's gradients (``grad_scale``: the fp16 GradScaler's factor)."""
        params = self.params[key]
        big_sq = float(grad_sq_norm(params)) / grad_scale**2
        n, self._n_micro[key] = self._n_micro[key], 0
        if self.world_size > 1:
            local = torch.tensor([self._local_sq[key]], dtype=torch.float64, device=params[0].device)
            self._local_sq[key] = 0.0
            dist.all_reduce(local)  # every process gets the same estimate
            small_sq = float(local) / self.world_size / grad_scale**2
            b_small = self.micro_batch_size * n  # this process's share of the step
            b_big = b_small * self.world_size
        else:
            micro = self._micro_sq[key]
            self._micro_sq[key], self._previous[key] = [], None
            if n < 2:
                return  # an unsplit odd batch: nothing to compare
            # each micro-batch's loss was scaled by 1/n before backward: undo it
            small_sq = sum(micro) / n * n**2 / grad_scale**2
            b_small, b_big = self.micro_batch_size, self.micro_batch_size * n
        self.estimates[key].update(small_sq, big_sq, b_small, b_big)

    def values(self) -> dict[str, float]:
        return {f"noise_scale_{key}": est.value for key, est in self.estimates.items()}
