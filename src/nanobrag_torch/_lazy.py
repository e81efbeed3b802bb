"""Package facades that load their names on first use.

A package ``__init__`` that imported its submodules eagerly would load torch for ``--help`` and drag the
layers above a module into it (``import nanobrag_torch.simulator`` would load the command line). Each facade
instead maps an exported name to the submodule that defines it and imports that submodule when the name is
first read. Standard library only: facades are imported before anything else.
"""

from __future__ import annotations

import importlib

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: dict, public: list):
    """``(__getattr__, __dir__)`` for ``package``, loading each name of ``homes`` (name -> relative module)
    on first use and keeping it in the package's namespace.

    Example:
        >>> getattr_, dir_ = lazy_exports("json", {"JSONDecoder": ".decoder"}, ["JSONDecoder"])
        >>> getattr_("JSONDecoder").__name__
        'JSONDecoder'
        >>> getattr_("nothing")
        Traceback (most recent call last):
        AttributeError: module 'json' has no attribute 'nothing'
    """
    def __getattr__(name: str):
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(package)
        value = getattr(importlib.import_module(homes[name], package), name)
        setattr(module, name, value)
        return value

    def __dir__() -> list:
        return sorted(set(vars(importlib.import_module(package))) | set(public))

    return __getattr__, __dir__
