"""Medians of the recorded runs, rendered as the markdown tables of BENCHMARKS.md."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from runs import Run, junit_categories

WALL_BOUND = 1.10
PER_TEST_BOUND_MS = 1.0
CONCURRENCY_BOUND = 1.15
STARTUP_BOUND = 1.2
PEER_SPEEDUP_BOUND = 4.0
WORKER_COUNTS = (1, 2, 4)
MEMORY_KINDS = ("host", "driver", "node", "chromium", "firefox", "helper")
# compare.py's section of BENCHMARKS.md lies between these; run.py keeps it when it rewrites the file.
COMPARE_BEGIN = "<!-- compare.py: begin -->"
COMPARE_END = "<!-- compare.py: end -->"
COMPARE_BEFORE = "## Machine and versions"  # where a first comparison goes


@dataclass(frozen=True)
class Tagged:
    variant: str  # "" for the main runs; "cold", "warm", "memory", "workers=2", "warmup"
    rep: int
    run: Run


@dataclass
class Results:
    runs: list[Tagged] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what went wrong or could not be measured
    not_run: dict[str, str] = field(default_factory=dict)  # what was not run -> why

    def select(self, kind: str, subject: str, runtimes: Sequence[str], variant: str = "") -> list[Run]:
        return [t.run for t in self.runs
                if t.variant == variant and t.run.kind == kind and t.run.subject == subject
                and t.run.runtimes == tuple(runtimes) and t.run.ok]


def med(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def med_of(runs: Sequence[Run], figure: Callable[[Run], float | None]) -> float | None:
    return med(figure(r) for r in runs)


def phase(runtime: str, name: str) -> Callable[[Run], float | None]:
    def get(run: Run) -> float | None:
        ph = run.phases.get(runtime)
        return None if ph is None else getattr(ph, name)
    return get


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def s(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def verdict(value: float | None, bound: float, at_least: bool = False) -> str:
    if value is None:
        return "n/a"
    ok = value >= bound if at_least else value <= bound
    return "pass" if ok else "**FAIL**"


def outcomes(runs: Sequence[Run]) -> str:
    if not runs:
        return "-"
    return ", ".join(f"{n} {k}" for k, n in runs[0].counts.items())


def cell(text: str, limit: int = 300) -> str:
    """One table cell: no line breaks, no stray column separators, not too long."""
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


@dataclass(frozen=True)
class Context:
    runtimes: tuple[str, ...]
    subjects: tuple[str, ...]  # in order: synthetic sizes ascending, then the real suite
    sizes: dict[str, int]  # synthetic subject -> number of tests
    real: str  # the real suite's subject name (msgpack)
    concurrency_subjects: tuple[str, ...]
    peer_subjects: tuple[str, ...]
    worker_subjects: tuple[str, ...]  # trivial tests (what workers cost), busy ones (gain)
    cores: int
    workers_option: bool
    quick: bool


class Report:
    def __init__(self, results: Results, ctx: Context) -> None:
        self.r = results
        self.ctx = ctx

    # -- figures ---------------------------------------------------------------------------
    def wall(self, kind: str, subject: str, runtimes: Sequence[str], variant: str = "") -> float | None:
        return med_of(self.r.select(kind, subject, runtimes, variant), lambda r: r.wall)

    def per_test_ms(self, subject: str, runtime: str) -> float | None:
        h = self.wall("harness", subject, [runtime])
        b = self.wall("bare", subject, [runtime])
        n = self.ctx.sizes[subject]
        return None if h is None or b is None else (h - b) / n * 1000

    def startup(self, kind: str, subject: str, runtime: str, variant: str = "") -> float | None:
        return med_of(self.r.select(kind, subject, [runtime], variant), phase(runtime, "ready"))

    def concurrency(self, subject: str) -> tuple[float | None, float | None, float | None]:
        """(together, physical limit, sum alone)."""
        alone = [self.wall("harness", subject, [rt]) for rt in self.ctx.runtimes]
        together = self.wall("harness", subject, self.ctx.runtimes)
        if any(a is None for a in alone):
            return together, None, None
        values = [a for a in alone if a is not None]
        limit = max(max(values), sum(values) / self.ctx.cores)
        return together, limit, sum(values)

    def cpu(self, kind: str, subject: str, runtimes: Sequence[str]) -> float | None:
        """Median CPU seconds of the whole process tree (browsers included), if measured."""
        runs = [r for r in self.r.select(kind, subject, runtimes, "") if r.result.cpu is not None]
        return med_of(runs, lambda r: r.result.cpu) if runs else None

    def cpu_limit(self, subject: str) -> tuple[float | None, float | None]:
        """(CPU seconds of the runtimes alone, summed; max(slowest alone, that / cores)).

        A runtime alone is not one core's work: wasm compilation, the browser's
        own processes and the host run beside it, so the wall-based limit can
        be below what the machine can do; this one counts what was used.
        """
        cpus = [self.cpu("harness", subject, [rt]) for rt in self.ctx.runtimes]
        walls = [self.wall("harness", subject, [rt]) for rt in self.ctx.runtimes]
        if any(c is None for c in cpus) or any(w is None for w in walls):
            return None, None
        total = sum(c for c in cpus if c is not None)
        return total, max(max(w for w in walls if w is not None), total / self.ctx.cores)

    # -- tables ----------------------------------------------------------------------------
    def targets(self) -> list[str]:
        c = self.ctx
        rows: list[list[str]] = []
        for rt in c.runtimes:
            h, b = self.wall("harness", c.real, [rt]), self.wall("bare", c.real, [rt])
            q = ratio(h, b)
            rows.append(["harness wall <= 1.10 x bare limit", c.real, rt,
                         f"{s(h)} s vs {s(b)} s", s(q), verdict(q, WALL_BOUND)])
        largest = max(c.sizes, key=lambda k: c.sizes[k]) if c.sizes else None
        if largest is not None:
            for rt in c.runtimes:
                ms = self.per_test_ms(largest, rt)
                rows.append([f"per-test overhead <= 1 ms at {c.sizes[largest]:,} tests", largest, rt,
                             f"{s(ms, 3)} ms/test", s(ratio(ms, PER_TEST_BOUND_MS)),
                             verdict(ms, PER_TEST_BOUND_MS)])
        for subject in c.concurrency_subjects if len(c.runtimes) > 1 else ():
            together, limit, _ = self.concurrency(subject)
            q = ratio(together, limit)
            rows.append([f"{len(c.runtimes)} runtimes together <= 1.15 x physical limit", subject,
                         "+".join(c.runtimes), f"{s(together)} s vs {s(limit)} s", s(q),
                         verdict(q, CONCURRENCY_BOUND)])
        for rt in c.runtimes:
            h, b = self.startup("harness", c.real, rt), self.startup("bare", c.real, rt)
            q = ratio(h, b)
            rows.append(["warm start-up (launch+boot+install) <= 1.2 x bare boot", c.real, rt,
                         f"{s(h)} s vs {s(b)} s", s(q), verdict(q, STARTUP_BOUND)])
        for rt in c.runtimes:
            why = self.r.not_run.get(f"pytest-pyodide {rt}")
            if why:
                rows.append(["harness >= 4x faster than pytest-pyodide", c.real, rt,
                             f"not run: {why}", "-", "n/a"])
                continue
            for subject in c.peer_subjects:
                p, h = self.wall("pytest-pyodide", subject, [rt]), self.wall("harness", subject, [rt])
                q = ratio(p, h)
                rows.append(["harness >= 4x faster than pytest-pyodide", subject, rt,
                             f"{s(p)} s vs {s(h)} s", f"{s(q)}x", verdict(q, PEER_SPEEDUP_BOUND, True)])
        if not c.workers_option:
            rows.append(["scaling with 1, 2, 4 workers", ", ".join(c.worker_subjects),
                         ", ".join(c.runtimes),
                         "not implemented: `pytest --help` has no --pyodide-workers", "-", "n/a"])
        else:
            for subject in c.worker_subjects:
                for rt in c.runtimes:
                    rows.append(["scaling with 1, 2, 4 workers (speed-up vs 1)", subject, rt,
                                 ", ".join(f"{n}: {x}" for n, x in self._speedups(subject, rt)),
                                 "-", "see table"])
        return table(["target", "subject", "runtime", "measured", "ratio", "result"], rows)

    def phases(self) -> list[str]:
        rows: list[list[str]] = []
        for subject in self.ctx.subjects:
            for rt in self.ctx.runtimes:
                bare = self.r.select("bare", subject, [rt])
                harness = self.r.select("harness", subject, [rt])
                b_wall = med_of(bare, lambda r: r.wall)
                for kind, runs in (("bare", bare), ("harness", harness)):
                    wall = med_of(runs, lambda r: r.wall)
                    prep = med_of(runs, lambda r: r.prep) if kind == "harness" else None
                    rows.append([
                        subject, rt, kind, s(wall), s(prep),
                        *(s(med_of(runs, phase(rt, name))) for name in
                          ("launch", "boot", "install", "collect", "execute")),
                        s(med_of(runs, lambda r: r.teardown)),
                        s(ratio(wall, b_wall)) if kind == "harness" else "1",
                        outcomes(runs), str(len(runs)),
                    ])
        return table(["subject", "runtime", "runner", "wall s", "prep", "launch", "boot", "install",
                      "collect", "execute", "teardown", "x bare", "outcomes", "runs"], rows)

    def per_test(self) -> list[str]:
        rows: list[list[str]] = []
        ordered = sorted(self.ctx.sizes, key=lambda k: self.ctx.sizes[k])
        for rt in self.ctx.runtimes:
            previous: tuple[int, float] | None = None
            for subject in ordered:
                n = self.ctx.sizes[subject]
                h, b = self.wall("harness", subject, [rt]), self.wall("bare", subject, [rt])
                gap = None if h is None or b is None else h - b
                marginal = "-"
                if gap is not None and previous is not None:
                    marginal = s((gap - previous[1]) / (n - previous[0]) * 1000, 3)
                if gap is not None:
                    previous = (n, gap)
                rows.append([rt, f"{n:,}", s(b), s(h), s(gap), s(self.per_test_ms(subject, rt), 3),
                             marginal])
        return table(["runtime", "tests", "bare wall s", "harness wall s", "harness - bare s",
                      "(H-B)/N ms", "marginal ms/test vs previous N"], rows)

    def concurrency_table(self) -> list[str]:
        c = self.ctx
        if len(c.runtimes) < 2:
            return ["(one runtime selected: nothing runs concurrently)"]
        rows: list[list[str]] = []
        for subject in c.concurrency_subjects:
            together, limit, total = self.concurrency(subject)
            alone = [s(self.wall("harness", subject, [rt])) for rt in c.runtimes]
            cpu_alone, cpu_limit = self.cpu_limit(subject)
            cpu_together = self.cpu("harness", subject, c.runtimes)
            rows.append([subject, *alone, s(total), str(c.cores), s(limit), s(together),
                         s(ratio(together, limit)), verdict(ratio(together, limit), CONCURRENCY_BOUND),
                         s(cpu_alone), s(cpu_together), s(cpu_limit), s(ratio(together, cpu_limit))])
        return table(["subject", *(f"{rt} alone s" for rt in c.runtimes), "sum alone s", "cores",
                      "physical limit s", "together s", "ratio", "<= 1.15",
                      "CPU s alone (sum)", "CPU s together", "CPU limit s", "ratio to CPU limit"], rows)

    def cache_table(self) -> list[str]:
        rows: list[list[str]] = []
        for t in sorted({t.run.runtimes[0] for t in self.r.runs if t.variant == "cold"}):
            cold = self.r.select("harness", self.ctx.real, [t], "cold")
            warm = self.r.select("harness", self.ctx.real, [t], "warm")
            bare_ready = self.startup("bare", self.ctx.real, t)
            warm_ready = med_of(warm, phase(t, "ready"))
            rows.append([self.ctx.real, t,
                         s(med_of(cold, lambda r: r.wall)), s(med_of(warm, lambda r: r.wall)),
                         s(med_of(cold, lambda r: r.prep)), s(med_of(warm, lambda r: r.prep)),
                         s(med_of(cold, phase(t, "ready"))), s(warm_ready), s(bare_ready),
                         s(ratio(warm_ready, bare_ready)), str(len(cold))])
        if not rows:
            return ["(cold-cache runs not made)"]
        return table(["subject", "runtime", "cold wall s", "warm wall s", "cold prep s", "warm prep s",
                      "cold start-up s", "warm start-up s", "bare start-up s", "warm / bare", "runs"], rows)

    def memory_table(self) -> list[str]:
        rows: list[list[str]] = []
        for t in self.r.runs:
            if t.variant != "memory" or not t.run.ok:
                continue
            m = t.run.result.memory
            rows.append([t.run.kind, t.run.subject, "+".join(t.run.runtimes), *(
                s(m.get(k), 0) for k in MEMORY_KINDS), s(m.root_hwm, 0)])
        if not rows:
            return ["(no memory runs)"]
        return table(["runner", "subject", "runtimes", "host PSS", "driver PSS", "node PSS",
                      "chromium PSS", "firefox PSS", "helpers PSS", "root VmHWM"], rows)

    def peer_table(self) -> list[str]:
        rows: list[list[str]] = []
        for rt in self.ctx.runtimes:
            why = self.r.not_run.get(f"pytest-pyodide {rt}")
            if why:
                rows.append(["-", rt, "-", "-", "-", "-", "-", f"not run: {why}"])
                continue
            for subject in self.ctx.peer_subjects:
                peer = self.r.select("pytest-pyodide", subject, [rt])
                harness = self.r.select("harness", subject, [rt])
                p, h = med_of(peer, lambda r: r.wall), med_of(harness, lambda r: r.wall)
                same = "yes" if peer and harness and (
                    junit_categories(peer[0].counts) == junit_categories(harness[0].counts)) else "**no**"
                rows.append([subject, rt, s(p), s(h), s(ratio(p, h)), outcomes(peer), outcomes(harness),
                             f"same outcomes: {same}"])
        return table(["subject", "runtime", "pytest-pyodide wall s", "harness wall s", "speed-up",
                      "pytest-pyodide outcomes", "harness outcomes", "note"], rows)

    def _capped(self, n: int) -> bool:
        return n > self.ctx.cores

    def _speedups(self, subject: str, rt: str) -> list[tuple[int, str]]:
        """(workers, speed-up against 1 worker), or why there is none."""
        one = self.wall("harness", subject, [rt], "workers=1")
        found: list[tuple[int, str]] = []
        for n in WORKER_COUNTS:
            if self._capped(n):
                found.append((n, f"capped at {self.ctx.cores}"))
            else:
                found.append((n, f"{s(ratio(one, self.wall('harness', subject, [rt], f'workers={n}')))}x"))
        return found

    def workers_table(self) -> list[str]:
        c = self.ctx
        if not c.workers_option:
            return [f"not implemented: `pytest --help` shows no `--pyodide-workers`; the runs for "
                    f"{', '.join(str(n) for n in WORKER_COUNTS)} workers ({', '.join(c.worker_subjects)}, "
                    "each runtime) are made automatically once the option exists."]
        rows: list[list[str]] = []
        for subject in c.worker_subjects:
            for rt in c.runtimes:
                walls = ["capped" if self._capped(n)
                         else s(self.wall("harness", subject, [rt], f"workers={n}")) for n in WORKER_COUNTS]
                runs_ = [r for n in WORKER_COUNTS
                         for r in self.r.select("harness", subject, [rt], f"workers={n}")[:1]]
                same = {frozenset(r.counts.items()) for r in runs_}
                rows.append([subject, rt, *walls,
                             *(x for _n, x in self._speedups(subject, rt)[1:]),
                             outcomes(runs_[:1]) + ("" if len(same) <= 1 else " (**differ by count**)")])
        lines = table(["subject", "runtime", *(f"{n} worker(s) s" for n in WORKER_COUNTS),
                       *(f"speed-up x{n}" for n in WORKER_COUNTS[1:]), "outcomes"], rows)
        capped = [n for n in WORKER_COUNTS if self._capped(n)]
        if capped:
            lines += ["", f"{', '.join(map(str, capped))} worker(s): not run, because the harness caps "
                          f"`--pyodide-workers` at the core count ({c.cores}) and the run would repeat "
                          f"the {c.cores}-worker one."]
        return lines


def compare_section(text: str) -> str | None:
    """compare.py's section of a BENCHMARKS.md text (markers included), if it has one."""
    begin, end = text.find(COMPARE_BEGIN), text.find(COMPARE_END)
    if begin < 0 or end < begin:
        return None
    return text[begin:end + len(COMPARE_END)]


def splice_compare(text: str, section: str) -> str:
    """``text`` with its comparison section replaced by ``section`` (or, the first time,
    put before the machine table, or at the end)."""
    old = compare_section(text)
    if old is not None:
        return text.replace(old, section.strip())
    at = text.find(COMPARE_BEFORE)
    if at < 0:
        return text.rstrip("\n") + "\n\n" + section.strip() + "\n"
    return text[:at] + section.strip() + "\n\n" + text[at:]
