"""What importing costs: the command line answers --help, --version and argument errors without torch, a layer
does not load the layers above it, and the package's names are loaded on first use."""

import ast
import json
import subprocess
import sys
from pathlib import Path

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


# -- the rule between tracing and the command line, read from the source ----------------------------------
# tests/nanobrag/test_layers.py orders all the layers; these two rules are the ones between these two.

PACKAGE_DIR = Path(nanobrag_torch.__file__).resolve().parent
TRACE_COMMAND = "nanobrag_torch.trace.__main__"


def module_name(path: Path) -> str:
    parts = ("nanobrag_torch",) + path.relative_to(PACKAGE_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def imports_of(module: str, source: str, is_package: bool = False):
    """(imported module, line, whether it runs at import time) for each import in ``source``, the text of
    ``module``, relative imports resolved. Imports inside functions or under ``if TYPE_CHECKING:`` do not
    run at import time."""
    package = module if is_package else module.rpartition(".")[0]
    found = []

    def visit(node, eager):
        for child in ast.iter_child_nodes(node):
            child_eager = eager and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(ast.Module(body=child.body, type_ignores=[]), False)
                visit(ast.Module(body=child.orelse, type_ignores=[]), eager)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, eager) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - child.level + 1] if child.level else []
                target = ".".join(base + ([child.module] if child.module else []))
                found.append((target, child.lineno, eager))
            visit(child, child_eager)

    visit(ast.parse(source), True)
    return found


def package_sources():
    """(module name, source, whether it is a package's __init__) of every module of nanobrag_torch."""
    return [(module_name(path), path.read_text(encoding="utf-8"), path.name == "__init__.py")
            for path in sorted(PACKAGE_DIR.rglob("*.py"))]


def violations(sources):
    """The imports that break the rule, as 'module:line imports module'. The rule: the tracing library (every
    module of nanobrag_torch.trace but the trace command, __main__) imports nothing from the command line, not
    even inside a function; the command line imports tracing only inside a function (or for type checking),
    so that a run without -trace_pixel never loads it."""
    found = []
    for module, source, is_package in sources:
        tracing_library = within(module, "nanobrag_torch.trace") and module != TRACE_COMMAND
        command_line = within(module, "nanobrag_torch.cli")
        for target, line, eager in imports_of(module, source, is_package):
            if (tracing_library and within(target, "nanobrag_torch.cli")) or \
                    (command_line and eager and within(target, "nanobrag_torch.trace")):
                found.append(f"{module}:{line} imports {target}")
    return found


def test_tracing_and_the_command_line_depend_one_way():
    """The tracing library never imports the command line; the command line imports tracing only lazily; the
    trace command (a command itself) may use the command line's parser."""
    sources = {module: (source, is_package) for module, source, is_package in package_sources()}
    assert violations((module, *rest) for module, rest in sources.items()) == []
    assert "nanobrag_torch.trace._run" in sources and "nanobrag_torch.cli._main" in sources
    # The exemption is used: the trace command reads its flags with the command line's parser.
    assert any(within(target, "nanobrag_torch.cli") for target, _, _ in imports_of(TRACE_COMMAND,
                                                                                   sources[TRACE_COMMAND][0]))


def test_the_rule_catches_each_kind_of_violation():
    """The checker sees a tracing module importing the command line (even inside a function) and the command
    line importing tracing at import time, and lets a lazy or type-checking import pass (it is not vacuous)."""
    probes = [
        ("nanobrag_torch.trace._probe", "from ..cli import parse_args\n\n\ndef later():\n"
                                        "    import nanobrag_torch.cli._flags\n", False),
        ("nanobrag_torch.cli._probe", "from ..trace import trace_run\n\n\ndef later():\n"
                                      "    from ..trace import trace_run\n", False),
        ("nanobrag_torch.cli._typed", "if TYPE_CHECKING:\n    from ..trace import TracedRun\n", False),
        ("nanobrag_torch.trace.__main__", "from ..cli import parse_args\n", False),
    ]
    assert violations(probes) == ["nanobrag_torch.trace._probe:1 imports nanobrag_torch.cli",
                                  "nanobrag_torch.trace._probe:5 imports nanobrag_torch.cli._flags",
                                  "nanobrag_torch.cli._probe:1 imports nanobrag_torch.trace"]
