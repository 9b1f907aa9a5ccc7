"""Shared test settings.

Hypothesis runs derandomized by default, so that the suite gives the same
result on every run and rigor's recorded test evidence repeats too. Set
HYPOTHESIS_PROFILE=explore to search with fresh random examples instead.
"""

import os

from hypothesis import settings

settings.register_profile("repro", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repro"))
