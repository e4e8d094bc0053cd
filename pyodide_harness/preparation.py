"""Inputs into runtime jobs: everything that happens before the first runtime starts.

``prepare`` takes the checked wheels and the settings and returns a ``Plan``: the
Pyodide distribution, the dependency wheels (Pyodide's lock first, then pip with
Pyodide's marker environment), the test tree as one zip, and one ``RuntimeJob`` per runtime
instance with its in-runtime options. Each step says what it did through
``say``, so the user sees where the time goes before anything boots.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename

from . import distribution, innerargs, lockresolve, resolver
from .errors import HarnessError
from .items import split_runtime_args
from .requirements import RequirementSource, describe_sources, find_test_requirements
from .runners import RuntimeConfig, RuntimeJob
from .settings import Settings
from .testtree import TestTree, build_archive
from .wheels import WheelInfo, WheelIntake

INNER_SOURCE = Path(__file__).resolve().parent / "inner" / "pyodide_harness_inner.py"
NOTHING_SELECTED = "{runtime}: nothing selected by the given node ids; not started"

Say = Callable[[str], None]


@dataclass(frozen=True)
class PlannedInstance:
    runtime: str  # "node"
    instance: str  # "node", or "node#2" with --pyodide-workers
    job: RuntimeJob


@dataclass(frozen=True)
class Plan:
    """What a run will do; observers get it through ``pytest_pyodide_prepared``."""

    wheels: tuple[WheelInfo, ...]
    distribution: distribution.Distribution
    dependencies: tuple[Path, ...]
    tree: TestTree
    instances: tuple[PlannedInstance, ...]
    runtime_config: RuntimeConfig
    workdir: Path
    packages: tuple[resolver.ResolvedWheel, ...] = ()
    """``dependencies`` with names, versions and sources (``lock``, ``index``, ``file``)."""

    @property
    def main(self) -> WheelInfo:
        """The first wheel under test names the package of the run."""
        return self.wheels[0]


def run_outputs(config: pytest.Config, settings: Settings) -> list[Path]:
    """Files and directories this run writes, which never belong in its test tree."""
    outputs = [settings.report_dir]
    inv = config.invocation_params.dir
    for dest in ("xmlpath", "htmlpath", "reportlog", "resultlog"):  # pytest's and plugins' files
        value = getattr(config.option, dest, None)
        outputs.append(inv / value if value else None)
    html = getattr(config.option, "htmlpath", None)
    if html:  # pytest-html's assets beside its page
        outputs.append(inv / Path(html).parent / "assets")
    return [path.resolve() for path in outputs if path is not None]


def requirement_sources(config: pytest.Config, settings: Settings, say: Say) -> list[RequirementSource]:
    """The test requirements: the options given, else where the project keeps them."""
    base = config.invocation_params.dir
    sources = find_test_requirements(
        config.rootpath, requirements=settings.requirements,
        files=[base / p for p in settings.requirements_files], groups=settings.dependency_groups)
    say(f"test requirements: {describe_sources(sources) if sources else 'none found'}")
    for source in sources:
        for note in source.notes:
            say(f"test requirements: {note}")
    if settings.coverage is not None:  # coverage.py, resolved as a test requirement is
        from .covdata import requirement_source

        sources.append(requirement_source())
    return sources


def resolve(config: pytest.Config, settings: Settings, intake: WheelIntake,
            say: Say, dist: distribution.Distribution) -> resolver.Resolution:
    """Dependencies (Pyodide's lock first, then the index) plus pytest, at the host's
    version where that version is published."""
    files = lockresolve.lock_files(dist, settings.package_base_url, log=say)
    sources = requirement_sources(config, settings, say)
    version = pytest.__version__
    if "dev" not in version and "+" not in version:
        try:
            return lockresolve.resolve(intake.wheels, [f"pytest=={version}"], files=files,
                                       sources=sources, log=say)
        except HarnessError as exc:
            if f"pytest=={version}" not in str(exc):
                raise
            say(f"pytest {version} (the host's) has no wheel for Pyodide here; "
                "using the newest pytest")
    return lockresolve.resolve(intake.wheels, ["pytest"], files=files, sources=sources, log=say)


def prepare(config: pytest.Config, settings: Settings, intake: WheelIntake, say: Say) -> Plan:
    """Distribution, dependencies, test tree and jobs; raises HarnessError with the fix."""
    for path, why in intake.skipped:
        say(f"skipped {path.name}: {why}")
    dist = distribution.obtain_distribution(settings.pyodide_version, settings.pyodide_dist,
                                            log=say)
    say(f"Pyodide {dist.version} ({dist.source}: {dist.path})")
    resolution = resolve(config, settings, intake, say, dist)
    if resolution.packages:
        say("dependencies: " + ", ".join(f"{p.name} {p.version} ({p.source})" for p in resolution.packages))
    workdir = Path(tempfile.mkdtemp(prefix="pyodide-harness-"))
    top_level = [n for w in intake.wheels for n in w.top_level]
    tree = build_archive(config.rootpath, top_level, workdir / "tests.zip",
                         exclude=run_outputs(config, settings))
    say(f"test tree: {tree.files} files, {tree.size // 1024} KiB")
    for note in tree.notes:
        say(f"test tree: {note}")
    installs = (*resolution.wheels, *(w.path for w in intake.wheels))
    say(f"installing {', '.join(w.path.name for w in intake.wheels)} with "
        f"{len(resolution.wheels)} dependencies")
    if settings.workers_note:
        say(settings.workers_note)
    runtime_dists = {str(canonicalize_name(parse_wheel_filename(w.name)[0])) for w in installs}
    base = innerargs.inner_options(config, settings, intake.wheels[0].name, top_level,
                                   runtime_dists, say)
    if settings.coverage is not None:
        from .covdata import runtime_options

        base = dataclasses.replace(base, coverage=runtime_options(
            settings.coverage, config.rootpath, config.invocation_params.dir, top_level,
            tree.excluded))
    rconfig = RuntimeConfig(node=settings.node, browser_paths=dict(settings.browser_paths),
                            sockfs=settings.sockfs, sandbox=settings.sandbox)
    paths = split_runtime_args(base.paths, settings.runtimes)
    planned = []
    for runtime in settings.runtimes:
        selected = paths[runtime]
        if selected is None:
            say(NOTHING_SELECTED.format(runtime=runtime))
            continue
        options = innerargs.for_runtime(config, base, runtime, settings.runtimes, selected,
                                        settings.workers)
        for index in range(settings.workers):
            instance = runtime if index == 0 else f"{runtime}#{index + 1}"
            job = RuntimeJob(distribution=dist.path, wheels=tuple(installs),
                             archive=tree.archive, inner=INNER_SOURCE, options=options,
                             workdir=workdir / instance.replace("#", "-"), instance=instance)
            planned.append(PlannedInstance(runtime, instance, job))
    return Plan(wheels=intake.wheels, distribution=dist, dependencies=tuple(resolution.wheels),
                tree=tree, instances=tuple(planned), runtime_config=rconfig, workdir=workdir,
                packages=resolution.packages)
