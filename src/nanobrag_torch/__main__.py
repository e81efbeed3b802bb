"""``python -m nanobrag_torch``: the same as the ``nanobrag-torch`` command."""

import sys

from .cli import main

sys.exit(main())
