"""Training under torchrun on CPU (gloo): what DDP must guarantee, checked on the real command lines.

Each run launches `torchrun ... tests/ddp_probe.py OUT <train.py flags>`; the probe records per process the
images trained, the files written, the displays opened, the weights at the end, the first step's gradients
and when DDP all-reduced (see tests/ddp_probe.py). Runs are tiny (8 images of 32 px, ngf/ndf 4) and shared
between tests through module-scoped fixtures: every torchrun launch costs seconds of start-up.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import socket
import subprocess
import sys

import pytest
import torch

from data.builtin import make_paired_dataset, make_unpaired_dataset
from tests.helpers import ROOT

pytestmark = pytest.mark.slow

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
PROBE = os.path.join(ROOT, "tests", "ddp_probe.py")
TIMEOUT_S = 180
N_TRAIN = 8
# --gpu_ids -1: CPU and gloo even where GPUs exist, so these runs mean the same on every machine.
TINY = ["--gpu_ids", "-1", "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--num_threads", "0",
        "--n_epochs", "1", "--n_epochs_decay", "1", "--print_freq", "4", "--display_freq", "4", "--display_id", "0"]  # fmt: skip
# pix2pix with nothing random but the weights: fixed 32 px crops, no flips, no dropout, files in order, so
# a step's gradient depends only on which images form the global batch.
PIX2PIX = ["--model", "pix2pix", "--norm", "instance", "--load_size", "32", "--crop_size", "32", "--no_flip",
           "--no_dropout", "--serial_batches", *TINY]  # fmt: skip
# cycle_gan with BatchNorm (pix2pix's default norm): parameters are all-reduced, running statistics are not.
# --pool_size 2 fills the image pools within epoch 1, so a resume must give each rank its own pool back.
# DDP broadcasts BatchNorm buffers from rank 0 at each forward, so they differ between the ranks by the last
# forward's batch only: with --seed 1 the ranks' last images differ (with --seed 0 both draw the same B image).
CYCLE_GAN = ["--model", "cycle_gan", "--norm", "batch", "--pool_size", "2", "--load_size", "36", "--crop_size", "32",
             "--seed", "1", *TINY]  # fmt: skip
RUNNING_STATS = ("running_mean", "running_var")
BATCH_NORM_WARNING = "--norm batch under torchrun keeps BatchNorm statistics per process; use --norm syncbatch or --norm instance"


# -- launching ------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rendezvous(nnodes: int, nproc: int) -> list[str]:
    """torchrun flags: nnodes machines of nproc processes each, meeting at a free port of 127.0.0.1."""
    endpoint = f"127.0.0.1:{free_port()}"
    return [
        f"--nnodes={nnodes}",
        f"--nproc_per_node={nproc}",
        "--rdzv_backend=c10d",
        f"--rdzv_endpoint={endpoint}",
    ]


def child_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def load_ranks(out_dir, world_size: int) -> list[dict]:
    return [torch.load(os.path.join(out_dir, f"rank{r}.pt"), weights_only=True) for r in range(world_size)]


class Run:
    """One probed training run: the launchers' output, the per-rank records, the experiment folder."""

    def __init__(self, output: str, ranks: list[dict], expr_dir: str) -> None:
        self.output, self.ranks, self.expr_dir = output, ranks, expr_dir

    def files(self) -> set[str]:
        return {os.path.realpath(os.path.join(d, f)) for d, _, fs in os.walk(self.expr_dir) for f in fs}


def probe(tmp, nproc: int, train_args: list[str]) -> Run:
    """`torchrun --nproc_per_node=nproc tests/ddp_probe.py ...`, experiment folder tmp/ck/run."""
    out, ck = os.path.join(tmp, "probe"), os.path.join(tmp, "ck")
    cmd = [
        *TORCHRUN,
        *rendezvous(1, nproc),
        PROBE,
        out,
        "--name",
        "run",
        "--checkpoints_dir",
        ck,
        *train_args,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return Run(proc.stdout + proc.stderr, load_ranks(out, nproc), os.path.join(ck, "run"))


def probe_two_nodes(tmp, train_args: list[str]) -> Run:
    """Two torchrun agents of one process each, meeting at 127.0.0.1:PORT as two machines would.

    Both "machines" run the same command: with --rdzv_backend=c10d the ranks are handed out at the
    rendezvous (torchrun ignores --node_rank unless --rdzv_backend=static).
    """
    out, ck = os.path.join(tmp, "probe"), os.path.join(tmp, "ck")
    cmd = [*TORCHRUN, *rendezvous(2, 1), "--rdzv_id=two_nodes", PROBE, out, "--name", "run", "--checkpoints_dir", ck,
           *train_args]  # fmt: skip
    pipes = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    nodes = [subprocess.Popen(cmd, cwd=ROOT, env=child_env(), **pipes) for _ in range(2)]
    try:
        outputs = [node.communicate(timeout=TIMEOUT_S) for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], [err[-3000:] for _, err in outputs]
    return Run("".join(o + e for o, e in outputs), load_ranks(out, 2), os.path.join(ck, "run"))


# -- data and the runs the tests share ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def paired_root(tmp_path_factory) -> str:
    return make_paired_dataset(str(tmp_path_factory.mktemp("facades")), N_TRAIN, 1, 1, size=32)


@pytest.fixture(scope="module")
def unpaired_root(tmp_path_factory) -> str:
    return make_unpaired_dataset(str(tmp_path_factory.mktemp("shapes")), N_TRAIN, 1, size=32)


@pytest.fixture(scope="module")
def pix2pix_ddp(tmp_path_factory, paired_root) -> Run:
    """2 processes × batch 1 × --accum_steps 2 (global batch 4); visdom and wandb asked for (stubbed)."""
    flags = ["--dataroot", paired_root, *PIX2PIX, "--batch_size", "1", "--accum_steps", "2"]
    return probe(tmp_path_factory.mktemp("pix2pix_ddp"), 2, [*flags, "--display_id", "1", "--use_wandb"])


@pytest.fixture(scope="module")
def pix2pix_single(tmp_path_factory, paired_root) -> Run:
    """The same global batch from `torchrun --nproc_per_node=1`: 1 process × batch 2 × --accum_steps 2."""
    flags = ["--dataroot", paired_root, *PIX2PIX, "--batch_size", "2", "--accum_steps", "2"]
    return probe(tmp_path_factory.mktemp("pix2pix_single"), 1, flags)


@pytest.fixture(scope="module")
def cycle_gan_ddp(tmp_path_factory, unpaired_root) -> Run:
    """2 processes, shuffled, 2 epochs, a checkpoint after each, with its training state (the resume test
    restarts from epoch 1)."""
    flags = ["--dataroot", unpaired_root, *CYCLE_GAN, "--save_epoch_freq", "1", "--keep_train_states", "2"]
    return probe(tmp_path_factory.mktemp("cycle_gan_ddp"), 2, flags)


# -- checks ---------------------------------------------------------------------------------------------------------
def assert_same_weights(a: dict, b: dict, *, running_stats_differ: bool = False) -> None:
    """Every tensor of every network equal; or, across BatchNorm ranks, equal but for the running statistics."""
    assert a.keys() == b.keys()
    for net in a:
        assert a[net].keys() == b[net].keys(), net
        for key in a[net]:
            differs = running_stats_differ and key.endswith(RUNNING_STATS)
            assert torch.equal(a[net][key], b[net][key]) != differs, f"{net}.{key}"


def assert_disjoint_halves(ranks: list[dict], epochs: list[int]) -> None:
    for epoch in epochs:
        seen = [rank["paths"][epoch] for rank in ranks]
        assert [len(s) for s in seen] == [N_TRAIN // 2] * 2, epoch
        assert not set(seen[0]) & set(seen[1]), (
            f"epoch {epoch}: both ranks trained {set(seen[0]) & set(seen[1])}"
        )
        assert len(set(seen[0]) | set(seen[1])) == N_TRAIN


def assert_only_rank0_wrote(run: Run, expected: set[str], preexisting: frozenset[str] = frozenset()) -> None:
    """Rank 1 created nothing under the experiment folder; every new file there was written by rank 0."""
    rank0, rank1 = sorted(run.ranks, key=lambda r: r["rank"])
    assert rank1["writes"] == [], rank1["writes"]
    written_by_rank0 = {w.split(" ", 1)[1] for w in rank0["writes"]}
    on_disk = run.files() - preexisting
    assert expected <= {os.path.basename(f) for f in on_disk}
    assert on_disk <= written_by_rank0, on_disk - written_by_rank0


def logged_iters(run: Run) -> list[tuple[int, int]]:
    with open(os.path.join(run.expr_dir, "loss_log.txt")) as f:
        return [(int(e), int(i)) for e, i in re.findall(r"\(epoch: (\d+), iters: (\d+),", f.read())]


# -- pix2pix, 2 processes ---------------------------------------------------------------------------------------
def test_pix2pix_ranks_train_disjoint_halves_and_end_with_identical_weights(pix2pix_ddp):
    rank0, rank1 = pix2pix_ddp.ranks
    assert [r["rank"] for r in pix2pix_ddp.ranks] == [0, 1] and rank0["world_size"] == 2
    assert rank0["exit_code"] == rank1["exit_code"] == 0
    assert_disjoint_halves(pix2pix_ddp.ranks, epochs=[1, 2])
    assert_same_weights(rank0["weights"], rank1["weights"])
    saved = torch.load(os.path.join(pix2pix_ddp.expr_dir, "latest_net_G.pth"), weights_only=True)
    assert_same_weights({"G": saved}, {"G": rank0["weights"]["G"]})


def test_only_rank0_writes_files_and_opens_displays(pix2pix_ddp):
    assert_only_rank0_wrote(
        pix2pix_ddp, {"latest_net_G.pth", "latest_net_D.pth", "loss_log.txt", "index.html"}
    )
    assert [r["displays"] for r in pix2pix_ddp.ranks] == [["visdom", "wandb"], []]
    assert pix2pix_ddp.output.count("The number of training images = 8") == 1  # rank 1 prints nothing


def test_accumulation_all_reduces_only_on_the_last_micro_batch(pix2pix_ddp):
    # 8 images / 2 processes / 2 micro-batches = 2 optimizer steps per epoch, 2 epochs, D and G each
    # all-reducing at least once per step; without no_sync the first micro-batches would add False here.
    for rank in pix2pix_ddp.ranks:
        assert len(rank["allreduce_on_last"]) >= 2 * 2 * 2
        assert all(rank["allreduce_on_last"]), rank["allreduce_on_last"]


# -- the same global batch from 1 process ------------------------------------------------------------------------
def test_two_processes_give_the_gradients_of_one_process_with_twice_the_batch(pix2pix_ddp, pix2pix_single):
    """Same global batch (images 0-3 in step 1), instance norm: DDP's averaged gradient is the big batch's."""
    ddp, other_rank = (rank["first_grads"] for rank in pix2pix_ddp.ranks)
    single = pix2pix_single.ranks[0]["first_grads"]
    assert ddp.keys() == single.keys() == {"G", "D"}
    for net in ddp:
        assert ddp[net].keys() == single[net].keys()
        # float32 sums in another order: tolerance relative to the net's largest gradient (the conv biases
        # before InstanceNorm have true gradient 0 and hold only rounding noise)
        scale = max(g.abs().max().item() for g in single[net].values())
        for key, grad in ddp[net].items():
            torch.testing.assert_close(
                grad, single[net][key], rtol=1e-4, atol=1e-5 * scale, msg=f"{net}.{key}"
            )
            assert torch.equal(grad, other_rank[net][key]), f"{net}.{key} differs between the ranks"


def test_counters_count_the_same_images_under_one_or_two_processes(pix2pix_ddp, pix2pix_single):
    assert pix2pix_single.ranks[0]["world_size"] == 1 and pix2pix_single.ranks[0]["exit_code"] == 0
    for run in (pix2pix_ddp, pix2pix_single):
        assert "The number of training images = 8" in run.output
        assert "saving the model at the end of epoch 2, iters 16" in run.output
    assert logged_iters(pix2pix_ddp) == logged_iters(pix2pix_single) == [(1, 4), (1, 8), (2, 4), (2, 8)]


# -- cycle_gan, 2 processes, shuffled, BatchNorm -----------------------------------------------------------------
def test_cycle_gan_ranks_shard_each_epoch_anew_and_end_with_identical_parameters(cycle_gan_ddp):
    rank0, rank1 = cycle_gan_ddp.ranks
    assert_disjoint_halves(cycle_gan_ddp.ranks, epochs=[1, 2])
    assert rank0["paths"][1] != rank0["paths"][2]  # set_epoch reshuffles: epoch 2 is not epoch 1 again
    assert set(rank0["weights"]) == {"G_A", "G_B", "D_A", "D_B"}
    # parameters are all-reduced; BatchNorm statistics stay per process, as the warning (once, rank 0) says
    assert_same_weights(rank0["weights"], rank1["weights"], running_stats_differ=True)
    assert cycle_gan_ddp.output.count(BATCH_NORM_WARNING) == 1
    assert_only_rank0_wrote(cycle_gan_ddp, {"1_net_G_A.pth", "1_train_state.pth", "latest_manifest.json"})


def test_two_nodes_resume_the_two_process_run_exactly(tmp_path, unpaired_root, cycle_gan_ddp):
    """Multi-node rendezvous (c10d) and --continue_train under DDP, in one launch.

    Restart cycle_gan_ddp from its epoch-1 checkpoint as 2 nodes × 1 process: each rank must train the shard
    it trained in the uninterrupted run and end with that rank's final weights (optimizers, schedules, and
    each rank's own random state and image pools restored).
    """
    resumed_dir = tmp_path / "ck" / "run"
    resumed_dir.mkdir(parents=True)
    for name in os.listdir(cycle_gan_ddp.expr_dir):
        if name.startswith("1_"):  # the epoch-1 set: 1_net_*.pth, 1_train_state.pth, 1_manifest.json
            shutil.copy(os.path.join(cycle_gan_ddp.expr_dir, name), resumed_dir)
    copied = frozenset(os.path.realpath(p) for p in resumed_dir.iterdir())
    flags = [
        "--dataroot",
        unpaired_root,
        *CYCLE_GAN,
        "--save_epoch_freq",
        "1",
        "--continue_train",
        "--epoch",
        "1",
    ]
    resumed = probe_two_nodes(tmp_path, flags)
    assert "resuming at epoch 2, 8 images seen" in resumed.output
    for rank in resumed.ranks:
        uninterrupted = cycle_gan_ddp.ranks[rank["rank"]]
        assert rank["world_size"] == 2 and list(rank["paths"]) == [2]
        assert rank["paths"][2] == uninterrupted["paths"][2]
        assert_same_weights(rank["weights"], uninterrupted["weights"])
    assert_disjoint_halves(resumed.ranks, epochs=[2])
    assert_only_rank0_wrote(resumed, {"2_net_G_A.pth", "latest_net_D_B.pth"}, preexisting=copied)


# -- refusals, in this process (they happen before any process group exists) -----------------------------------
TORCHRUN_ENV = {"WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}


@pytest.mark.parametrize("norm", ["syncbatch", "sync_batch"])
def test_syncbatch_on_cpu_stops_before_training_with_the_fix(
    monkeypatch, capsys, tmp_path, paired_root, norm
):
    import train

    for key, value in {**TORCHRUN_ENV, "RANK": "0"}.items():  # what torchrun gives rank 0 of 2
        monkeypatch.setenv(key, value)
    ck = tmp_path / "ck"
    argv = ["--dataroot", paired_root, "--name", "s", "--checkpoints_dir", str(ck), *PIX2PIX, "--norm", norm]
    assert train.main(argv) == 2
    message = f"--norm {norm} needs CUDA GPUs (SyncBatchNorm has no CPU kernel); on CPU use --norm instance"
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not torch.distributed.is_initialized() and not ck.exists()


def test_test_py_refuses_torchrun(monkeypatch, capsys, tmp_path, paired_root):
    # loaded by path: `import test` would find Python's own test package
    test_main = runpy.run_path(os.path.join(ROOT, "test.py"))["main"]
    for key, value in {**TORCHRUN_ENV, "RANK": "1"}.items():
        monkeypatch.setenv(key, value)
    ck = tmp_path / "ck"
    argv = ["--dataroot", paired_root, "--name", "x", "--checkpoints_dir", str(ck), "--model", "pix2pix"]
    assert test_main(argv) == 2
    assert "error: test.py runs in one process" in capsys.readouterr().err
    assert not ck.exists()
