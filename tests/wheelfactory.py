"""Build real wheel files for tests, so no binary fixtures are checked in.

The wheels are written the way build backends write them (dist-info with WHEEL,
METADATA and a RECORD of sha256 hashes), with knobs to break each part.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def make_wheel(
    directory: Path,
    name: str,
    version: str = "1.0",
    tag: str = "py3-none-any",
    files: Mapping[str, str | bytes] | None = None,
    requires_dist: Sequence[str] = (),
    provides_extra: Sequence[str] = (),
    *,
    with_metadata: bool = True,
    with_wheel_file: bool = True,
    with_record: bool = True,
    corrupt_record_for: str | None = None,
    extra_dist_info: str | None = None,
    filename: str | None = None,
    metadata_name: str | None = None,
    metadata_version: str | None = None,
    requires_python: str | None = None,
    unrecorded: Sequence[str] = (),
    record_only: Sequence[str] = (),
    wheel_tags: Sequence[str] | None = None,
) -> Path:
    """Write ``{name}-{version}-{tag}.whl`` into ``directory`` and return its path.

    ``files`` maps archive paths to contents; by default a package ``{name}``
    with an ``__init__.py`` that defines ``__version__``. ``metadata_name`` and
    ``metadata_version`` make METADATA disagree with the file name; ``unrecorded``
    archive paths are left out of RECORD; ``record_only`` paths are listed in RECORD
    but not written. ``wheel_tags`` are written as WHEEL's ``Tag:`` lines instead of
    the file name's tags (an empty list writes none).
    """
    directory.mkdir(parents=True, exist_ok=True)
    norm = name.replace("-", "_")
    if files is None:
        files = {f"{norm}/__init__.py": f'__version__ = "{version}"\n'}
    dist_info = f"{norm}-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {metadata_name or name}",
        f"Version: {metadata_version or version}",
    ]
    if requires_python is not None:
        metadata.append(f"Requires-Python: {requires_python}")
    metadata += [f"Requires-Dist: {r}" for r in requires_dist]
    metadata += [f"Provides-Extra: {e}" for e in provides_extra]
    wheel_meta = ["Wheel-Version: 1.0", "Generator: wheelfactory", "Root-Is-Purelib: "
                  + ("true" if tag.endswith("-none-any") else "false")]
    wheel_meta += [f"Tag: {t}" for t in (_expand_tag(tag) if wheel_tags is None else wheel_tags)]
    entries: dict[str, bytes] = {
        path: content.encode() if isinstance(content, str) else content
        for path, content in files.items()
    }
    if with_metadata:
        entries[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    if with_wheel_file:
        entries[f"{dist_info}/WHEEL"] = ("\n".join(wheel_meta) + "\n").encode()
    if extra_dist_info:
        entries[f"{extra_dist_info}/METADATA"] = b"Metadata-Version: 2.1\nName: other\n"
    path = directory / (filename or f"{norm}-{version}-{tag}.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        record_lines = []
        for arcname, data in entries.items():
            zf.writestr(arcname, data)
            if arcname in unrecorded:
                continue
            hashed = data + b"tampered" if arcname == corrupt_record_for else data
            record_lines.append(f"{arcname},{_record_hash(hashed)},{len(data)}")
        record_lines += [f"{arcname},{_record_hash(b'')},0" for arcname in record_only]
        if with_record:
            record_lines.append(f"{dist_info}/RECORD,,")
            zf.writestr(f"{dist_info}/RECORD", "\n".join(record_lines) + "\n")
    return path


def _expand_tag(tag: str) -> list[str]:
    """Expand a compressed tag set like ``py2.py3-none-any`` into single tags."""
    pythons, abis, platforms = tag.split("-")
    return [
        f"{p}-{a}-{pl}"
        for p in pythons.split(".")
        for a in abis.split(".")
        for pl in platforms.split(".")
    ]
