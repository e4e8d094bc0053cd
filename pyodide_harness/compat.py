"""What Python 3.10 lacks and the harness uses (it supports 3.10+ on the host), and what
Pythons before the PEP 706 backport (3.10.12, 3.11.4; Debian 12 ships 3.11.2) lack."""

from __future__ import annotations

import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

if sys.version_info >= (3, 11):
    from typing import assert_never

    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

    def assert_never(value: NoReturn) -> NoReturn:
        """Fail loudly on a case the type checker says cannot happen."""
        raise AssertionError(f"unhandled value: {value!r}")


#: Errors of tarfile's extraction filters; none where tarfile has no filters.
TAR_FILTER_ERRORS: tuple[type[Exception], ...] = (
    (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ())


def extract_tar(archive: tarfile.TarFile, destination: Path,
                members: Iterable[tarfile.TarInfo] | None = None) -> None:
    """``extractall`` with the ``data`` filter (PEP 706) where tarfile has it; before the
    backport, plain ``extractall`` (the harness checks the npm tarball's members itself)."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(destination, members=members, filter="data")
    else:  # pragma: no cover - Pythons before the PEP 706 backport
        archive.extractall(destination, members=members)


__all__ = ["TAR_FILTER_ERRORS", "assert_never", "extract_tar", "tomllib"]
