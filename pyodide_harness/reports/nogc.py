"""Cyclic garbage collection paused while a report is built.

Building a report makes many small container objects (junitparser elements, the HTML
view's rows and cells, Jinja's render state) next to a large results model. The cyclic
collector, triggered by allocation counts, traverses that model again and again: with
48,000 test results it took about two thirds of the HTML writer's time and made it grow
faster than the number of tests. Collection waits until the writers are done, and
then collects whatever cycles they left.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause cyclic garbage collection inside the block (nesting is fine)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
