"""What Python 3.10 lacks and the harness uses (it supports 3.10+ on the host)."""

from __future__ import annotations

import sys
from typing import NoReturn

if sys.version_info >= (3, 11):
    from typing import assert_never

    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

    def assert_never(value: NoReturn) -> NoReturn:
        """Fail loudly on a case the type checker says cannot happen."""
        raise AssertionError(f"unhandled value: {value!r}")


__all__ = ["assert_never", "tomllib"]
