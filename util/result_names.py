"""Names of test results that never overwrite each other.

The reference names a result by its input's file stem (`x_fake_B.png`), so `a/x.png`, `b/x.png` and `x.jpg`
all write `x_fake_B.png`: one result, shown three times. Here an input whose stem no other input shares keeps
the bare stem (the reference's names, so existing tooling still finds them). Inputs whose stems collide are
named by their path under the inputs' common folder, sub-folders kept (`a/x`, `b/x`), with the extension too
where that still collides (`x.jpg` beside `x.png`). An input met again (unaligned data repeats its shorter
side) or one the plan did not list gets `~2`, `~3`, ...
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable


def file_stem(path: str) -> str:
    """`x` for `/data/a/x.png` (also for Windows separators, as the reference's ntpath.basename)."""
    return os.path.splitext(path.replace("\\", "/").rsplit("/", 1)[-1])[0]


def _common_folder(paths: list[str]) -> str:
    try:
        return os.path.commonpath([os.path.dirname(p) for p in paths])
    except ValueError:  # absolute beside relative paths, or two Windows drives
        return ""


def planned_names(paths: list[str]) -> dict[str, str]:
    """{path: name} for distinct `paths`: the stem when unique, else the relative path (then with extension)."""
    by_stem: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        by_stem[file_stem(path)].append(path)
    root = _common_folder(paths)
    names = {}
    for stem, group in by_stem.items():
        if len(group) == 1:
            names[group[0]] = stem
            continue
        relative = {p: os.path.relpath(p, root).replace(os.sep, "/") for p in group}
        without_ext = {p: os.path.splitext(rel)[0] for p, rel in relative.items()}
        counts = Counter(without_ext.values())
        for p in group:
            names[p] = without_ext[p] if counts[without_ext[p]] == 1 else relative[p]
    return names


class ResultNames:
    """Hands out one distinct result name per input, planned from every input path known in advance."""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self._planned = planned_names(list(dict.fromkeys(paths)))
        self._used: set[str] = set()

    def name(self, path: str) -> str:
        base = self._planned.get(path, file_stem(path))
        name, count = base, 1
        while name in self._used:
            count += 1
            name = f"{base}~{count}"
        self._used.add(name)
        return name
