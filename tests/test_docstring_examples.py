"""The examples in the packages' docstrings run and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

import nanobrag_torch
import tracehooks


def all_modules():
    names = []
    for package in (tracehooks, nanobrag_torch):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return names


@pytest.mark.parametrize("name", all_modules())
def test_docstring_examples(name, tmp_path, monkeypatch):
    """Every docstring example of the module passes as a doctest (run in an empty folder)."""
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
