"""The entry points' one way to end: a UserError becomes one line ``error: ...`` on stderr and exit status 2.

def main(argv=None) -> int:
    return run_cli(lambda: train(sys.argv[1:] if argv is None else argv))

if __name__ == "__main__":
    sys.exit(main())
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from util.errors import UserError

EXIT_USER_ERROR = 2  # argparse's status for a bad command line


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
    finally:
        _close_process_group()
    return 0


def _close_process_group() -> None:
    dist = sys.modules.get("torch.distributed")  # never import torch just to find nothing open
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
