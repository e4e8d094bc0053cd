"""Plugins of the host's environment, kept from acting on a harness run.

A maintainer's environment has pytest-xdist, pytest-cov, pytest-randomly and
friends installed; their hooks would run on the host, where no test runs.
"""

from __future__ import annotations

import pytest


def disarm(config: pytest.Config, args: list[str]) -> None:
    """Early (before conftests): nothing yet."""


def refuse(config: pytest.Config) -> None:
    """At configure time: nothing yet."""
