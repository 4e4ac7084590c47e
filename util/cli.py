"""The entry points' one way to end: a UserError becomes one line ``error: ...`` on stderr and exit status 2.

def main(argv=None) -> int:
    return run_cli(lambda: train(sys.argv[1:] if argv is None else argv))

if __name__ == "__main__":
    sys.exit(main())
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable

from util.errors import UserError

EXIT_USER_ERROR = 2  # argparse's status for a bad command line
EXIT_INTERRUPTED = 130  # the shell's 128 + SIGINT


def run_cli(entry: Callable[[], object]) -> int:
    """Run ``entry()``; 0 when it returns, 2 with ``error: <message>`` on stderr when it raises UserError.

    Anything else is a bug and keeps its traceback. A torch.distributed process group left open (torchrun)
    is closed either way, so no rank waits on one that has exited.
    """
    try:
        entry()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as err:
        if err.errno not in UNWRITABLE:
            raise
        print(f"error: {unwritable_message(err)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (
        KeyboardInterrupt
    ):  # train.py saves `latest` first (util/resume.GracefulStop); a second Ctrl-C lands here too
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        _close_process_group()
    return 0


# A folder the run writes to is read-only, full or not ours: the user's to fix, not a bug.
UNWRITABLE = {errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM}


def unwritable_message(err: OSError) -> str:
    folder = os.path.dirname(err.filename) if err.filename else "a folder"
    return (
        f"cannot write {folder}: {(err.strerror or str(err)).lower()} ({err.filename}); free some space, or pass a "
        "writable --checkpoints_dir / --results_dir"
    )


def answer_help_first(argv: list[str], is_train: bool) -> None:
    """Print the options' help and exit when ``argv`` asks for it; else return at once.

    The help is argparse's, from the same parser train.py / test.py use, so it lists exactly their flags.
    """
    if "-h" in argv or "--help" in argv:
        from options import parse_options  # needs no torch until after argparse has printed the help

        parse_options(argv, is_train)  # argparse prints the help and raises SystemExit(0)


def _close_process_group() -> None:
    dist = sys.modules.get("torch.distributed")  # never import torch just to find nothing open
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
