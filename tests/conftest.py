"""Shared pytest configuration: the hypothesis profiles.

``ci`` (selected when the environment variable ``CI`` is set) is derandomised, so a CI run
explores the same examples every time; ``dev`` (the default) draws fresh examples. Neither has
a deadline: the first call of a numba kernel may load or compile it, which would trip one.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if "CI" in os.environ else "dev")
