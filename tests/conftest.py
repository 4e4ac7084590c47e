"""Shared fixtures. Kept import-light: anything heavy is imported inside the fixture that needs it."""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

VISDOM_START_TIMEOUT_S = 30.0
# visdom's `python -m visdom.server` first downloads its web page scripts; run_server.main() skips that,
# which keeps the fixture offline. `-bind_local` listens on 127.0.0.1 only.
VISDOM_SERVER_CODE = (
    "import sys; from visdom.server import run_server; sys.argv[0] = 'visdom'; run_server.main()"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def free_port() -> Callable[[], int]:
    """Call it for a TCP port on 127.0.0.1 that nothing listens on right now."""
    return _free_port


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def visdom_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port of a real visdom server on 127.0.0.1, started once for the session and stopped after it."""
    pytest.importorskip("visdom")
    port = _free_port()
    env_dir = tmp_path_factory.mktemp("visdom_env")
    args = ["-port", str(port), "--hostname", "127.0.0.1", "-bind_local", "-env_path", str(env_dir)]
    log_path = env_dir / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", VISDOM_SERVER_CODE, *args], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + VISDOM_START_TIMEOUT_S
        while not _accepts_connections(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"visdom server did not start on port {port}:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def display_opt(tmp_path) -> Callable[..., argparse.Namespace]:
    """Call it for the display options of experiment "demo" under tmp_path/checkpoints (visdom, wandb off).

    Keyword arguments override single options.
    """
    defaults = dict(
        name="demo",
        checkpoints_dir=str(tmp_path / "checkpoints"),
        isTrain=True,
        continue_train=False,
        phase="train",
        no_html=False,
        display_winsize=64,
        display_id=0,
        display_server="http://localhost",
        display_port=8097,
        display_env="main",
        display_ncols=4,
        use_wandb=False,
        wandb_project_name="CycleGAN-and-pix2pix",
    )
    return lambda **overrides: argparse.Namespace(**{**defaults, **overrides})


@pytest.fixture
def read_only():
    """Call it on a folder to bind-mount it read-only over itself (a real read-only mount: as root, chmod
    does not stop writes). Skips where the machine does not allow mounts; unmounted after the test."""
    mounted: list[Path] = []

    def mount(folder: Path) -> Path:
        if shutil.which("mount") is None:
            pytest.skip("no mount command")
        for args in (["--bind", str(folder), str(folder)], ["-o", "remount,ro,bind", str(folder)]):
            done = subprocess.run(["mount", *args], capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"cannot mount read-only here (needs root): {done.stderr.strip()}")
            if args[0] == "--bind":
                mounted.append(folder)
        try:
            (folder / ".probe").touch()
        except OSError:
            return folder
        pytest.skip("the read-only mount still accepts writes")

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=False)
