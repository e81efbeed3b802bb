"""What importing costs: the command line answers --help, --version and argument errors without torch, a layer
does not load the layers above it, and the package's names are loaded on first use."""

import json
import subprocess
import sys

import pytest

import nanobrag_torch
import nanobrag_torch.cli

SMALL = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 100 -pixel 0.1 -detpixels 8".split()


def loaded_after(code: str, cwd=None) -> dict:
    """Run ``code`` in a fresh interpreter; return ``{"modules": [...], "result": <value of result>}``."""
    script = f"import json, sys\nresult = None\n{code}\nprint(json.dumps({{'modules': sorted(sys.modules), " \
             f"'result': result}}))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv,status", [
    (["--help"], 0),
    (["--version"], 0),
    (["-unknownflag"], 2),
    (["-cell"], 2),
    (["-distance"], 2),
])
def test_help_version_and_argument_errors_do_not_import_torch(argv, status):
    """--help, --version, an unknown flag and a missing value are answered without importing torch."""
    found = loaded_after(f"from nanobrag_torch.cli import main\nresult = main({argv!r})")
    assert found["result"] == status
    assert "torch" not in found["modules"]


def test_version_names_the_installed_package(capsys):
    """--version prints the program and the installed version, status 0."""
    from importlib.metadata import version

    assert nanobrag_torch.cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"nanobrag-torch {version('nanobrag-torch')}\n"
    assert nanobrag_torch.__version__ == version("nanobrag-torch")


def test_simulator_does_not_load_the_command_line_or_tracing():
    """Importing the simulator loads neither the command line nor the tracing harness (nor tracehooks, wrapt)."""
    modules = set(loaded_after("import nanobrag_torch.simulator")["modules"])
    assert not modules & {"nanobrag_torch.cli", "nanobrag_torch.trace", "tracehooks", "wrapt"}


def test_untraced_run_does_not_load_tracing(tmp_path):
    """A run without -trace_pixel never imports the tracing harness."""
    argv = SMALL + "-nonoise -nopgm -noprogress -floatfile f.bin -intfile i.img".split()
    found = loaded_after("import contextlib, io\nfrom nanobrag_torch.cli import main\n"
                         f"with contextlib.redirect_stdout(io.StringIO()):\n    result = main({argv!r})", cwd=tmp_path)
    assert found["result"] == 0
    assert not set(found["modules"]) & {"nanobrag_torch.trace", "tracehooks", "wrapt"}


def test_importing_the_package_loads_nothing_heavy():
    """import nanobrag_torch (and nanobrag_torch.cli) imports neither torch nor numpy."""
    modules = set(loaded_after("import nanobrag_torch, nanobrag_torch.cli")["modules"])
    assert not modules & {"torch", "numpy", "nanobrag_torch.simulator", "nanobrag_torch.cli._parse"}


@pytest.mark.parametrize("package", [nanobrag_torch, nanobrag_torch.cli], ids=lambda p: p.__name__)
def test_every_exported_name_loads_and_is_listed(package):
    """Each name in __all__ resolves on first use, dir() lists it, and an unknown name is an AttributeError."""
    for name in package.__all__:
        assert getattr(package, name).__name__ == name
    assert set(package.__all__) <= set(dir(package))
    assert package.__all__ == sorted(package.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        package.nonexistent
