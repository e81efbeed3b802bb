"""Settings shared by every test."""

import os

from hypothesis import settings

# Under CI the property-based tests run a fixed sequence of examples, so a run is reproducible; locally they
# explore new examples each time.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
