"""What every nanobrag command does with a reader that leaves: exit status 2, no traceback."""

import subprocess
import sys

import pytest

COMMANDS = {
    "nanobrag-torch": "nanobrag_torch.cli",
    "trace": "nanobrag_torch.trace",
    "parity": "nanobrag_torch.parity",
}
MAINS = {
    "nanobrag-torch": "from nanobrag_torch.cli import main",
    "trace": "from nanobrag_torch.trace.__main__ import main",
    "parity": "from nanobrag_torch.parity import main",
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_closed_stdout_ends_the_command_quietly(command):
    """--help into a pipe whose reader has gone: status 2, nothing on stderr (no BrokenPipeError)."""
    code = f"import sys\n{MAINS[command]}\nsys.exit(main(['--help']))"
    reader_gone = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader_gone.stdout.close()  # before the child writes a byte
    _, err = reader_gone.communicate(timeout=60)
    assert (reader_gone.returncode, err.decode()) == (2, "")
