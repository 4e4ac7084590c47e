"""The dataset registry: ``--dataset_mode NAME`` → dataset class, filled by ``@register_dataset`` when
``data/__init__.py`` imports each dataset module explicitly (grep for a mode name finds its class)."""

from __future__ import annotations

from util.registry import Registry

DATASETS: Registry = Registry("--dataset_mode")
register_dataset = DATASETS.register  # class decorator: make the class available as --dataset_mode NAME
