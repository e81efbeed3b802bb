"""``python -m nanobrag_torch.datasets``: the ``nanobrag-torch-dataset`` command."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
