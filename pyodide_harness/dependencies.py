"""The old entry points of dependency handling, kept while callers move on.

The work is done by :mod:`requirements` (where test requirements come from,
each source named) and :mod:`resolver` (pip turning wheels and requirements into
dependency wheel files). New code should call those: ``find_test_requirements``
and ``resolve(..., sources=...)`` name each source in the output and let
development files drop entries that have no Pyodide wheel.
"""

from __future__ import annotations

from pathlib import Path

from .requirements import (
    TEST_GROUP_NAMES,
    RequirementSource,
    dependency_group,
    find_test_requirements,
    read_requirements,
    test_requirements_from_project,
)
from .resolver import MISSING_WHEEL_FIX, Resolution, resolve

__all__ = [
    "MISSING_WHEEL_FIX",
    "TEST_GROUP_NAMES",
    "RequirementSource",
    "Resolution",
    "dependency_group",
    "find_test_requirements",
    "read_requirements_file",
    "resolve",
    "test_requirements_from_project",
]


def read_requirements_file(path: Path) -> list[str]:
    """The requirements listed in ``path``, following nested ``-r``.

    Lines the runtime cannot use are left out; :func:`requirements.read_requirements`
    also returns the notes saying which and why.
    """
    return list(read_requirements(Path(path)).requirements)
