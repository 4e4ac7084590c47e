"""The dataset registry: ``--dataset_mode NAME`` → dataset class, filled by ``@register_dataset`` when
``data/__init__.py`` imports each dataset module explicitly (grep for a mode name finds its class)."""

from __future__ import annotations

from collections.abc import Callable

DATASETS: dict[str, type] = {}


def register_dataset(name: str) -> Callable[[type], type]:
    """Class decorator: make the class available as ``--dataset_mode name``."""

    def add(cls: type) -> type:
        if name in DATASETS:
            raise ValueError(
                f"dataset mode {name!r} is registered twice ({DATASETS[name].__name__}, {cls.__name__})"
            )
        DATASETS[name] = cls
        return cls

    return add
