"""Loaded into the corpus's native pytest runs (``-p corpus_nodeids``): each test's node id
as a JUnit property, so native outcomes are matched to the harness's by node id rather
than by JUnit's dotted classname, which cannot be turned back into a path.

It sits alone in its directory because that directory goes on the native run's
PYTHONPATH, where no other module may shadow the suite's own.
"""

from __future__ import annotations

import pytest

PROPERTY = "corpus.nodeid"  # outcomes.NODEID_PROPERTY


def pytest_itemcollected(item: pytest.Item) -> None:
    item.user_properties.append((PROPERTY, item.nodeid))
