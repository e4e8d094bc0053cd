"""Is there a wheel Pyodide can install for a module the suite failed to import?

Used to explain a ``ModuleNotFoundError`` raised inside the runtime: the module
name is mapped to a project name (:func:`project_for_module`, a heuristic), and
pip is asked, with the Pyodide platform options, which wheel it would install:
``pip install --dry-run --no-deps --report`` resolves one project without
installing or (where the index serves PEP 658 metadata) even downloading it, and
its JSON report names the file, so pure and wasm wheels are told apart by tag.
The user's pip configuration applies, so the answer is about the index the run
itself would use. Pyodide's own distribution (issue 14) is not consulted here.
"""

from __future__ import annotations

import importlib.metadata
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .errors import HarnessError
from .piprun import run_pip
from .tags import is_pure
from .target import PIP_PLATFORM_ARGS

__all__ = [
    "MISSING_MODULE",
    "MODULE_TO_PROJECT",
    "Availability",
    "missing_module_message",
    "project_for_module",
    "query_index",
    "wheel_availability",
]

#: Import names that differ from the project that provides them: the usual
#: suspects of test suites. A heuristic; :func:`project_for_module` falls back to
#: the host's installed distributions, then to the module name itself.
MODULE_TO_PROJECT: dict[str, str] = {
    "yaml": "PyYAML",
    "PIL": "pillow",
    "dateutil": "python-dateutil",
    "attr": "attrs",
    "bs4": "beautifulsoup4",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "Crypto": "pycryptodome",
    "Cryptodome": "pycryptodomex",
    "OpenSSL": "pyOpenSSL",
    "nacl": "PyNaCl",
    "jwt": "PyJWT",
    "dns": "dnspython",
    "dotenv": "python-dotenv",
    "magic": "python-magic",
    "serial": "pyserial",
    "usb": "pyusb",
    "git": "GitPython",
    "zmq": "pyzmq",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "fitz": "PyMuPDF",
    "google.protobuf": "protobuf",
    "pkg_resources": "setuptools",
    "mpl_toolkits": "matplotlib",
    "xdist": "pytest-xdist",
    "pytest_asyncio": "pytest-asyncio",
    "pytest_mock": "pytest-mock",
    "pytest_benchmark": "pytest-benchmark",
    "pytest_timeout": "pytest-timeout",
    "_pytest": "pytest",
    "typing_extensions": "typing-extensions",
    "Levenshtein": "levenshtein",
    "lz4": "lz4",
    "snappy": "python-snappy",
    "jose": "python-jose",
    "multipart": "python-multipart",
}

Kind = Literal["wasm", "pure", "none", "unknown"]

MISSING_MODULE = (
    "Module {module!r} could not be imported inside Pyodide (imported by {importer}).\n"
    "{availability}\nFix: {fix}"
)
ADD_IT = ("add it with --pyodide-requirement {project} (or list it in the project's test "
          "dependency group or requirements-test.txt)")
BUILD_IT = ("build a wheel Pyodide 314 can install (py3-none-any, or cp314/abi3 for "
            "pyemscripten_2026_0_wasm32) and pass it with --pyodide-wheel, or skip the tests "
            "that need {module!r} under Pyodide")


@dataclass(frozen=True)
class Availability:
    """What the index offers Pyodide 314 for one project."""

    project: str
    kind: Kind
    """``wasm`` (a compiled Pyodide wheel), ``pure`` (py3-none-any), ``none`` (pip
    found no installable wheel) or ``unknown`` (pip could not answer)."""
    version: str | None = None
    filename: str | None = None
    detail: str = ""
    """For ``none`` and ``unknown``: the end of pip's message."""

    def describe(self) -> str:
        """One sentence for a person."""
        if self.kind in ("wasm", "pure"):
            what = "a WebAssembly wheel" if self.kind == "wasm" else "a pure-Python wheel"
            return f"{self.project} {self.version} has {what} Pyodide 314 can install ({self.filename})."
        if self.kind == "none":
            return f"The index has no wheel of {self.project} that Pyodide 314 can install."
        return f"Whether {self.project} has a wheel for Pyodide 314 is unknown: {self.detail}"


def project_for_module(module: str) -> str:
    """The project that most likely provides ``module`` (a heuristic).

    :data:`MODULE_TO_PROJECT` first (dotted names, then the top-level package),
    then the distributions installed on the host (their metadata only: nothing is
    imported), then the top-level name itself.
    """
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        known = MODULE_TO_PROJECT.get(".".join(parts[:length]))
        if known is not None:
            return known
    installed = importlib.metadata.packages_distributions().get(parts[0])
    return installed[0] if installed else parts[0]


def wheel_availability(project_or_module_name: str, *, timeout: float = 60.0) -> Availability:
    """Ask the index, through pip with Pyodide's platform options, for an installable wheel.

    A module name (``yaml``) is mapped with :func:`project_for_module`; a project
    name passes through unchanged. Installs nothing; ``timeout`` bounds the pip run.
    """
    return query_index(project_for_module(project_or_module_name), timeout=timeout)


def query_index(project: str, *, timeout: float = 60.0) -> Availability:
    """:func:`wheel_availability` for a project name (or requirement), taken as given."""
    with tempfile.TemporaryDirectory(prefix="pyodide-harness-avail-") as scratch:
        report = Path(scratch) / "report.json"
        try:
            run = run_pip(["install", "--dry-run", "--ignore-installed", "--no-deps",
                           "--target", str(Path(scratch) / "target"), "--report", str(report),
                           *PIP_PLATFORM_ARGS, project], timeout=timeout)
        except HarnessError as exc:
            return Availability(project, "unknown", detail=str(exc).splitlines()[0])
        if run.returncode != 0:
            last = [line.strip() for line in run.output.splitlines() if line.strip()]
            detail = last[-1] if last else f"pip exited with status {run.returncode}"
            kind: Kind = "none" if "No matching distribution found" in run.output else "unknown"
            return Availability(project, kind, detail=detail)
        try:
            (item,) = json.loads(report.read_text(encoding="utf-8"))["install"]
            filename = str(item["download_info"]["url"]).rsplit("/", 1)[-1].split("#", 1)[0]
            tags = parse_wheel_filename(filename)[3]
            version = str(item["metadata"]["version"])
        except (OSError, ValueError, KeyError, TypeError, InvalidWheelFilename) as exc:
            return Availability(project, "unknown", detail=f"unreadable pip report ({exc})")
    return Availability(project, "pure" if is_pure(tags) else "wasm", version, filename)


def missing_module_message(module: str, importer: str, availability: Availability) -> str:
    """The error for a module missing inside the runtime: what, who imported it, the fix."""
    if availability.kind == "none":
        fix = BUILD_IT.format(module=module)
    else:
        fix = ADD_IT.format(project=availability.project)
    return MISSING_MODULE.format(module=module, importer=importer,
                                 availability=availability.describe(), fix=fix)
