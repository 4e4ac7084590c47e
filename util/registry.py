"""One registry shape for every ``--flag NAME`` → class table (models, dataset modes).

    MODELS = Registry("--model")

    @MODELS.register("pix2pix")
    class Pix2PixModel(BaseModel): ...

    MODELS.get(opt.model)        # the class, or UserError "--model x is unknown; choose one of: ..."

A registry is filled by explicit imports of the modules that define the classes (``models/__init__.py``,
``data/__init__.py``), so grep finds what a name runs. It reads like a dict: ``name in MODELS``,
``MODELS[name]``, ``sorted(MODELS)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from util.errors import UserError

T = TypeVar("T", bound=type)


class Registry(Mapping[str, T], Generic[T]):
    """Names to classes for the command-line flag ``flag``; a name can be registered once."""

    def __init__(self, flag: str) -> None:
        self.flag = flag
        self._classes: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator: make the class available as ``{flag} name``."""

        def add(cls: T) -> T:
            if name in self._classes:
                raise ValueError(
                    f"{self.flag} {name!r} is registered twice ({self._classes[name].__name__}, {cls.__name__}); "
                    "rename one of them"
                )
            self._classes[name] = cls
            return cls

        return add

    def get(self, name: str) -> T:  # type: ignore[override]  (never returns a default: unknown names are errors)
        """The class registered as ``name``; a UserError listing the choices otherwise."""
        if name not in self._classes:
            raise UserError(
                f"{self.flag} {name} is unknown; choose one of: {', '.join(sorted(self._classes))}"
            )
        return self._classes[name]

    def __getitem__(self, name: str) -> T:
        return self._classes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __repr__(self) -> str:
        return f"Registry({self.flag!r}, {sorted(self._classes)})"
