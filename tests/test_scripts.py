"""The README's set-up works with a system Python that refuses pip installs (PEP 668).

Debian's and Ubuntu's ``/usr/bin/python3`` are "externally managed": ``pip install`` into
them fails with ``externally-managed-environment``, which is how the README's main
command failed on a stock machine. scripts/setup.sh makes a virtual environment with the
Python it is given and installs there.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")


def test_setup_works_with_an_externally_managed_python(tmp_path: Path) -> None:
    stdlib = subprocess.run([str(SYSTEM_PYTHON), "-c",
                             "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert (Path(stdlib) / "EXTERNALLY-MANAGED").is_file(), (
        f"{SYSTEM_PYTHON} is not externally managed here: this test needs the stock "
        "Debian/Ubuntu Python it is about")
    refused = subprocess.run([str(SYSTEM_PYTHON), "-m", "pip", "install", "--dry-run", "six"],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "PYTHON": str(SYSTEM_PYTHON)}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    venv_python = clone / ".venv" / "bin" / "python"
    probe = subprocess.run([str(venv_python), "-c", "import pyodide_harness, sys; print(sys.base_prefix)"],
                           capture_output=True, text=True, check=True)
    base = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.prefix)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert probe.stdout.strip() == base  # the venv is the system Python's, with the harness
