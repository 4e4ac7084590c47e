"""Memory accounting of scripts/benchmark.py: tensor bytes a training step adds, per device.

cpu: the profiler's allocation events over the first two (warm-up) steps, and the process's resident-set
high-water mark; cuda: torch.cuda's allocator statistics. docs/performance.md explains the figures.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable

import torch
from torch.profiler import ProfilerActivity, profile

MB = 2**20
# CPU memory is read over the first two (warm-up) steps: the second is the first that holds the optimizer
# state from its start, as every later step does.
MEMORY_STEPS = 2


def _proc_status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024 / MB  # the kernel reports kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def profiled_peak_mb(step: Callable[[], None], n_steps: int) -> float:
    """Run `step` n_steps times; the most tensor memory held at once beyond what existed before.

    The profiler's CPU allocation events carry a running total of the bytes allocated since profiling began
    ("Total Allocated"); frees of older tensors are not seen, so start it before the first step.
    """
    with tempfile.TemporaryDirectory() as tmp:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            for _ in range(n_steps):
                step()
        trace = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(trace)
        with open(trace) as f:
            events = json.load(f)["traceEvents"]
    totals = [e["args"]["Total Allocated"] for e in events if e.get("name") == "[memory]"]
    return max(totals, default=0) / MB


class CpuMemory:
    method = (
        "cpu: train = peak tensor bytes over the first two steps (profiler allocation events); "
        "process = resident-set high-water mark (VmHWM)"
    )

    def first_steps(self, step: Callable[[], None], n_steps: int) -> None:
        self.train = profiled_peak_mb(step, n_steps)

    def start_timed_steps(self) -> None:
        pass

    def train_mb(self) -> float:
        return self.train

    def process_peak_mb(self) -> float:
        return _proc_status_mb("VmHWM")


class CudaMemory:
    method = (
        "cuda: train = torch.cuda.max_memory_allocated over the timed steps minus memory_allocated before "
        "the first step; process = max_memory_reserved"
    )

    def first_steps(self, step: Callable[[], None], n_steps: int) -> None:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()  # used as is by --repeats 0
        self.before = torch.cuda.memory_allocated()
        for _ in range(n_steps):
            step()

    def start_timed_steps(self) -> None:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()

    def train_mb(self) -> float:
        return (torch.cuda.max_memory_allocated() - self.before) / MB

    def process_peak_mb(self) -> float:
        return torch.cuda.max_memory_reserved() / MB


def tensor_mb(model, batch: dict) -> float:
    """Weights, buffers and the input batch: what is in memory before the first step."""
    nets = model.networks().values()
    tensors = [t for net in nets for t in (*net.parameters(), *net.buffers())]
    tensors += [v for v in batch.values() if torch.is_tensor(v)]
    return sum(t.numel() * t.element_size() for t in tensors) / MB


MEMORY = {"cpu": CpuMemory, "cuda": CudaMemory}
