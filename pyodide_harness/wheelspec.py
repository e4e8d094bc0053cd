"""Turn ``--pyodide-wheel`` values into wheel files, and decide what a glob may skip.

A value is a ``.whl`` file, a directory of wheels or a glob, each optionally followed
by ``[extras]`` as in pip. Relative values resolve against the run's base directory,
not the current directory. A named file must be usable; a glob or directory may also
match other platforms' builds, as a cibuildwheel ``dist/`` does. The rules for that
are here; whether one wheel is usable is ``tags``'s and ``wheelcheck``'s job.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from packaging.utils import InvalidName, canonicalize_name

from . import target
from .errors import WheelError
from .tags import FIX_NATIVE, NEEDED, Refusal

OPTION = "--pyodide-wheel"
_PYODIDE = f"Pyodide {target.SERIES}"

# --- user-facing messages (tests import these) -------------------------------------

MSG_EMPTY_SPEC = (
    "{option} was given an empty value.\n"
    "  Fix: pass a .whl file, a directory of wheels or a glob such as dist/*.whl"
)
MSG_NOT_FOUND = (
    "{option} {spec}: no such file or directory: {path}\n"
    "  Relative paths are resolved against {base}.\n"
    "  Fix: build the wheel first, or pass an existing .whl file, a directory of wheels "
    "or a glob such as dist/*.whl"
)
MSG_GLOB_EMPTY = (
    "{option} {spec}: the pattern {pattern} matched no file.\n"
    "  Relative patterns are resolved against {base}.\n"
    "  Fix: build the wheels first (`cibuildwheel --platform pyodide` or `pyodide build` "
    "write them to dist/), or correct the pattern"
)
MSG_DIR_EMPTY = (
    "{option} {spec}: the directory {path} contains no .whl file.\n"
    "  Fix: build the wheels into it first, or pass the directory that holds them"
)
MSG_NOT_A_WHEEL = (
    "{option} {spec}: {path} is not a wheel (its name does not end in .whl).\n"
    "  Fix: pass a built wheel file, e.g. dist/<name>-<version>-{needed_tag}.whl"
)
MSG_NOTHING_USABLE = (
    "{option} {spec} matched no wheel " + _PYODIDE + " can install:\n"
    "{rejected}\n"
    "  " + _PYODIDE + " needs {needed}.\n"
    "  Fix: " + FIX_NATIVE
)
NOT_A_WHEEL_WHY = "not a .whl file"
MSG_ORIGIN = "  Given as: {option} {spec}"
MSG_BAD_EXTRA_NAME = (
    "{where}: {extra!r} is not a valid extra name.\n"
    "  Fix: write extras as in pip, e.g. dist/pkg.whl[test] or dist/*.whl[test,docs]"
)
MSG_UNKNOWN_EXTRA = (
    "Wheel {wheel} does not declare the extra {extra!r}{where}; it declares: {declared}.\n"
    "  Fix: use one of the declared extras, or add it under "
    "[project.optional-dependencies] and rebuild"
)
MSG_UNKNOWN_EXTRA_GLOB = (
    "No wheel matched by {option} {spec} declares the extra {extra!r}; "
    "they declare: {declared}.\n"
    "  Fix: use one of the declared extras, or add it under "
    "[project.optional-dependencies] and rebuild"
)
MSG_DUPLICATE = (
    "Two wheels of the project {name} were given: {first} and {second}.\n"
    "  Pyodide installs one version of a project.\n"
    "  Fix: pass only one of them (delete the stale wheel or narrow the glob)"
)

_EXTRAS_SUFFIX = re.compile(r"(?P<path>.+?)\[(?P<extras>[^\[\]]*)\]")
_GLOB_MAGIC = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Spec:
    """One ``--pyodide-wheel`` value and the files it resolved to."""

    text: str
    # "expanded": one file of a glob the shell expanded (pytest --pyodide-wheel dist/*.whl):
    # named like a file, but skipped like a glob's match when it is for another platform.
    kind: Literal["file", "dir", "glob", "expanded"]
    extras: tuple[str, ...]
    wheels: tuple[Path, ...]
    others: tuple[Path, ...] = ()


@dataclass
class Candidate:
    """A wheel file and every spec that named or matched it (the same file may be given twice)."""

    path: Path
    explicit: bool = False
    specs: list[Spec] = field(default_factory=list)

    @property
    def origin(self) -> str:
        """The first option value that brought the file in, for messages."""
        return self.specs[0].text


def is_wheel_argument(arg: str) -> bool:
    """Whether a positional command-line argument names wheels rather than tests.

    ``pytest --pyodide-wheel dist/*.whl`` reaches pytest shell-expanded: the first
    wheel is the option's value and the rest are positional arguments. Those name a
    ``.whl`` file, or a glob ending in ``.whl`` the shell left alone, optionally with
    ``[extras]``; test paths and node ids never end that way.
    """
    text = arg.strip()
    if not text or text.startswith("-"):
        return False
    match = _EXTRAS_SUFFIX.fullmatch(text)
    if match is not None and not text.lower().endswith(".whl"):
        text = match["path"]
    return text.lower().endswith(".whl")


def expand_specs(specs: Sequence[str], base: Path,
                 shell_expanded: bool = False) -> tuple[list[Spec], dict[Path, Candidate]]:
    """Resolve every value; return them and the distinct files they name, in order.

    ``shell_expanded``: the values are the shell's expansion of one glob, so the files
    among them are taken as that glob's matches.
    """
    expanded = [_expand(spec, base) for spec in specs]
    if shell_expanded:
        expanded = [replace(s, kind="expanded") if s.kind == "file" else s for s in expanded]
    candidates: dict[Path, Candidate] = {}
    for spec in expanded:
        for path in spec.wheels:
            candidate = candidates.setdefault(path, Candidate(path))
            candidate.specs.append(spec)
            candidate.explicit = candidate.explicit or spec.kind == "file"
    return expanded, candidates


def settle(
    specs: Sequence[Spec],
    candidates: Mapping[Path, Candidate],
    accepted: Mapping[Path, tuple[str, tuple[str, ...]]],
    refused: Mapping[Path, tuple[str, Refusal]],
    base: Path,
) -> tuple[tuple[Path, str], ...]:
    """Apply the glob and directory rules once each candidate is accepted or refused.

    ``accepted`` maps a path to its project name and declared extras, ``refused`` to
    its project name and why. Returns the skipped files and why; raises WheelError
    when a glob or directory yields nothing usable, a refused build is not excused
    by a usable one, two wheels are of one project, or an extra is declared by none.
    """
    for spec in specs:
        if spec.kind in ("dir", "glob") and not any(path in accepted for path in spec.wheels):
            raise WheelError(_nothing_usable(spec, refused, base))
    group = [spec for spec in specs if spec.kind == "expanded"]
    if group and not any(path in accepted for spec in group for path in spec.wheels):
        together = Spec(" ".join(spec.text for spec in group), "glob", (),
                        tuple(path for spec in group for path in spec.wheels))
        raise WheelError(_nothing_usable(together, refused, base))

    accepted_names = {name for name, _ in accepted.values()}
    skipped: list[tuple[Path, str]] = []
    for path, (name, refusal) in refused.items():
        # Other platforms are expected in a dist/; another Pyodide or Python build of a
        # project is only harmless when a usable build of that project came along.
        if not (refusal.native or name in accepted_names):
            raise WheelError(with_origin(refusal.message(path), candidates[path].origin))
        skipped.append((path, refusal.why()))

    _reject_duplicates((name, path) for path, (name, _) in accepted.items())
    for spec in specs:
        _require_spec_extras(spec, accepted)
    return tuple(skipped)


def with_origin(message: str, spec: str) -> str:
    """Say which option value brought the wheel in, just above the message's fix."""
    origin = MSG_ORIGIN.format(option=OPTION, spec=spec)
    head, fix_marker, fix = message.partition("\n  Fix:")
    return f"{head}\n{origin}{fix_marker}{fix}"


def absolute(path: Path) -> Path:
    # abspath, not resolve(): a symlink's own name is the wheel file name that counts.
    return Path(os.path.abspath(path.expanduser()))


# --- extras -----------------------------------------------------------------------------


def parse_extras(extras: Iterable[str], where: str) -> tuple[str, ...]:
    """Validate extra names and normalise them (PEP 685), dropping blanks and repeats."""
    parsed: list[str] = []
    for extra in extras:
        extra = extra.strip()
        if not extra:
            continue
        try:
            parsed.append(canonicalize_name(extra, validate=True))
        except InvalidName:
            raise WheelError(MSG_BAD_EXTRA_NAME.format(where=where, extra=extra)) from None
    return tuple(dict.fromkeys(parsed))


def require_declared(
    wheel: Path, declared: tuple[str, ...], wanted: Iterable[str], where: str
) -> None:
    """Every wanted extra must be one the wheel declares (Provides-Extra)."""
    for extra in wanted:
        if extra not in declared:
            raise WheelError(
                MSG_UNKNOWN_EXTRA.format(
                    wheel=wheel, extra=extra, where=where, declared=", ".join(declared) or "none"
                )
            )


def extras_for(candidate: Candidate, declared: tuple[str, ...]) -> tuple[str, ...]:
    """A named file must declare its extras; a glob's apply to the wheels that declare them."""
    for spec in candidate.specs:
        if spec.kind in ("file", "expanded"):
            where = f" (asked for by {OPTION} {spec.text})"
            require_declared(candidate.path, declared, spec.extras, where)
    extras = [
        extra
        for spec in candidate.specs
        for extra in spec.extras
        if spec.kind in ("file", "expanded") or extra in declared
    ]
    return tuple(dict.fromkeys(extras))


def _require_spec_extras(spec: Spec, accepted: Mapping[Path, tuple[str, tuple[str, ...]]]) -> None:
    """A glob's extra must be declared by at least one wheel it matched, to catch typos."""
    if spec.kind in ("file", "expanded"):
        return
    matched = [(path, accepted[path][1]) for path in spec.wheels if path in accepted]
    for extra in spec.extras:
        if any(extra in declared for _, declared in matched):
            continue
        where = f" (asked for by {OPTION} {spec.text})"
        if len(matched) == 1:
            require_declared(*matched[0], [extra], where)
        declared_by = "; ".join(
            f"{path.name}: {', '.join(declared) or 'none'}" for path, declared in matched
        )
        raise WheelError(
            MSG_UNKNOWN_EXTRA_GLOB.format(
                option=OPTION, spec=spec.text, extra=extra, declared=declared_by
            )
        )


def _reject_duplicates(wheels: Iterable[tuple[str, Path]]) -> None:
    seen: dict[str, Path] = {}
    for name, path in wheels:
        first = seen.setdefault(name, path)
        if first != path:
            raise WheelError(MSG_DUPLICATE.format(name=name, first=first, second=path))


# --- resolving one value ------------------------------------------------------------------


def _resolve(text: str, base: Path) -> Path:
    path = Path(text).expanduser()
    return absolute(path if path.is_absolute() else base / path)


def _split_extras(text: str, base: Path) -> tuple[str, str | None]:
    """Split ``dist/*.whl[test]`` into pattern and extras, unless the brackets are the name."""
    match = _EXTRAS_SUFFIX.fullmatch(text)
    if match is None or _resolve(text, base).exists():
        return text, None
    path = match["path"]
    if path.lower().endswith(".whl") or _GLOB_MAGIC.search(path) or _resolve(path, base).is_dir():
        return path, match["extras"]
    return text, None


def _expand(text: str, base: Path) -> Spec:
    spec = text.strip()
    if not spec:
        raise WheelError(MSG_EMPTY_SPEC.format(option=OPTION))
    pattern, extras_text = _split_extras(spec, base)
    extras: tuple[str, ...] = ()
    if extras_text is not None:
        extras = parse_extras(extras_text.split(","), where=f"{OPTION} {spec}")
    literal = _resolve(pattern, base)
    if literal.is_file():
        if literal.suffix.lower() != ".whl":
            raise WheelError(
                MSG_NOT_A_WHEEL.format(
                    option=OPTION, spec=spec, path=literal, needed_tag=target.NEEDED_TAG
                )
            )
        return Spec(spec, "file", extras, (literal,))
    if literal.is_dir():
        wheels = _wheels_in(literal)
        if not wheels:
            raise WheelError(MSG_DIR_EMPTY.format(option=OPTION, spec=spec, path=literal))
        return Spec(spec, "dir", extras, wheels)
    if not _GLOB_MAGIC.search(pattern):
        raise WheelError(MSG_NOT_FOUND.format(option=OPTION, spec=spec, path=literal, base=base))
    expanded_pattern = Path(pattern).expanduser()
    absolute_pattern = (
        str(expanded_pattern)
        if expanded_pattern.is_absolute()
        else os.path.join(glob.escape(str(base)), pattern)
    )
    matches = [absolute(Path(p)) for p in sorted(glob.glob(absolute_pattern, recursive=True))]
    if not matches:
        raise WheelError(
            MSG_GLOB_EMPTY.format(option=OPTION, spec=spec, pattern=pattern, base=base)
        )
    wheels_found: list[Path] = []
    others: list[Path] = []
    for match in matches:
        if match.is_dir():
            wheels_found.extend(_wheels_in(match))
        elif match.suffix.lower() == ".whl":
            wheels_found.append(match)
        else:
            others.append(match)
    return Spec(spec, "glob", extras, tuple(dict.fromkeys(wheels_found)), tuple(others))


def _wheels_in(directory: Path) -> tuple[Path, ...]:
    return tuple(
        sorted(p for p in directory.iterdir() if p.suffix.lower() == ".whl" and p.is_file())
    )


def _display(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _nothing_usable(spec: Spec, refused: Mapping[Path, tuple[str, Refusal]], base: Path) -> str:
    lines = []
    for path in spec.wheels:
        entry = refused.get(path)
        why = entry[1].why() if entry else "refused"
        lines.append(f"    {_display(path, base)}: {why}")
    lines += [f"    {_display(path, base)}: {NOT_A_WHEEL_WHY}" for path in spec.others]
    return MSG_NOTHING_USABLE.format(
        option=OPTION, spec=spec.text, rejected="\n".join(lines), needed=NEEDED
    )
