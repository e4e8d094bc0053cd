"""The cause rules (``pyodide_harness.causes``), each on the real failure it was written from.

Every example is text a real run produced, kept as it was (the traceback cut to its
``>``/``E``/location lines; a crash to its first lines): the corpus packages (boltons,
python-dateutil, toolz) with the harness in Node and Chromium, and generated suites of
one Pyodide limit per test run in Node 24. ``jspi-unavailable`` comes from Pyodide 314
in Node 20, which has no JSPI.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pyodide_harness import causes
from pyodide_harness.causes import (
    CAUSES,
    CRASH,
    FAILING,
    RULES,
    UNKNOWN,
    cause_name,
    cause_of,
    evidence,
    exception_of,
    explain,
    fill,
    restart_cause,
)
from pyodide_harness.results import (
    BAD_OUTCOMES,
    PackageStarted,
    PhaseRecorded,
    Restart,
    Results,
    ResultsBuilder,
    RuntimeRestarted,
    RuntimeStarted,
    TestResult,
    TestsCollected,
)


@dataclass(frozen=True)
class Example:
    rule: str
    source: str  # package, runtime and test that failed this way
    message: str
    longrepr: str


EXAMPLES = [
    Example(
        'watchdog-timeout',
        'harnessdemo 1.0 node tests/test_probes.py::test_sleep_long',
        'Timeout (>2s) in node: the interrupt did not land within 10s, so node was stopped, while run'
        'ning tests/test_probes.py::test_sleep_long',
        'Timeout (>2s) in node: the interrupt did not land within 10s, so node was stopped, while run'
        'ning tests/test_probes.py::test_sleep_long\n'
        'FF....FFF.F.FFFF.....FFF.F...F',
    ),
    Example(
        'js-stack-overflow',
        'boltons 26.2.0 node tests/test_iterutils.py::TestRemap::test_sub_selfref',
        'node failed fatally (Pyodide fatal error: RangeError: Maximum call stack size exceeded) whil'
        'e running tests/test_iterutils.py::TestRemap::test_sub_selfref',
        'node failed fatally (Pyodide fatal error: RangeError: Maximum call stack size exceeded) whil'
        'e running tests/test_iterutils.py::TestRemap::test_sub_selfref\n'
        'Pyodide fatal error: RangeError: Maximum call stack size exceeded\n'
        'RangeError: Maximum call stack size exceeded\n'
        '    at wasm://wasm/0249d42a:wasm-function[1934]:0xeb3a5',
    ),
    Example(
        'node-child-process-refused',
        'harnessdemo 1.0 node tests/test_probes.py::test_os_system',
        'node failed fatally (Pyodide fatal error: Error: Access to this API has been restricted. Use'
        ' --allow-child-process to manage permissions.) while running tests/test_probes.py::test_os_s'
        'ystem',
        'node failed fatally (Pyodide fatal error: Error: Access to this API has been restricted. Use'
        ' --allow-child-process to manage permissions.) while running tests/test_probes.py::test_os_s'
        'ystem\n'
        'Pyodide fatal error: Error: Access to this API has been restricted. Use --allow-child-proces'
        's to manage permissions.\n'
        'Error: Access to this API has been restricted. Use --allow-child-process to manage permissio'
        'ns.\n'
        '    at Object.spawnSync (node:internal/child_process:1146:29)',
    ),
    Example(
        'runtime-died',
        'harnessdemo 1.0 node tests/test_probes.py::test_abort',
        'node failed fatally (Pyodide fatal error: RuntimeError: unreachable) while running tests/tes'
        't_probes.py::test_abort',
        'node failed fatally (Pyodide fatal error: RuntimeError: unreachable) while running tests/tes'
        't_probes.py::test_abort\n'
        'Pyodide fatal error: RuntimeError: unreachable\n'
        'RuntimeError: unreachable\n'
        '    at wasm://wasm/0249d42a:wasm-function[13197]:0x55aabb',
    ),
    Example(
        'recursion-error',
        'harnessdemo 1.0 node tests/test_probes.py::test_recursion',
        'RecursionError: maximum recursion depth exceeded',
        '>       f(0)\n'
        'tests/test_probes.py:110: \n'
        'tests/test_probes.py:109: in f\n'
        '>   def f(n): return f(n + 1)\n'
        'E   RecursionError: maximum recursion depth exceeded\n'
        'tests/test_probes.py:109: RecursionError',
    ),
    Example(
        'no-threads',
        'python-dateutil 4.0.0 node tests/test_tzfile.py::test_gettz_thread_safety',
        "RuntimeError: can't start new thread",
        '>           t.start()\n'
        'tests/test_tzfile.py:2819: \n'
        '>           _start_joinable_thread(self._bootstrap, handle=self._os_thread_handle,\n'
        "E                                  RuntimeError: can't start new thread\n"
        '/lib/python314.zip/threading.py:1005: RuntimeError',
    ),
    Example(
        'no-processes',
        'python-dateutil 4.0.0 node tests/test_imports.py::test_import_without_six',
        'OSError: [Errno 138] emscripten does not support processes.',
        '>       subprocess.run([sys.executable, "-c", code], check=True)\n'
        'tests/test_imports.py:289: \n'
        '/lib/python314.zip/subprocess.py:554: in run\n'
        '>           raise OSError(\n'
        'E           OSError: [Errno 138] emscripten does not support processes.\n'
        '/lib/python314.zip/subprocess.py:827: OSError',
    ),
    Example(
        'no-multiprocessing',
        'toolz 1.2.0 node sandbox/tests/test_parallel.py::test_fold',
        "ModuleNotFoundError: No module named '_multiprocessing'",
        '>       with Pool() as pool:\n'
        '/lib/python3.14/site-packages/toolz/sandbox/tests/test_parallel.py:15: \n'
        '/lib/python314.zip/multiprocessing/context.py:119: in Pool\n'
        '/lib/python314.zip/multiprocessing/pool.py:191: in __init__\n'
        '/lib/python314.zip/multiprocessing/pool.py:346: in _setup_queues\n'
        '/lib/python314.zip/multiprocessing/context.py:113: in SimpleQueue\n'
        '/lib/python314.zip/multiprocessing/queues.py:361: in __init__\n'
        '/lib/python314.zip/multiprocessing/context.py:67: in Lock\n'
        '>   ???\n'
        "E   ModuleNotFoundError: No module named '_multiprocessing'\n"
        '/lib/python314.zip/multiprocessing/synchronize.py:17: ModuleNotFoundError',
    ),
    Example(
        'fork-exec-not-implemented',
        'harnessdemo 1.0 node tests/test_probes.py::test_fork',
        'OSError: [Errno 52] Function not implemented',
        '>       os.fork()\n'
        'E       OSError: [Errno 52] Function not implemented\n'
        'tests/test_probes.py:24: OSError',
    ),
    Example(
        'os-process-function-missing',
        'harnessdemo 1.0 node tests/test_probes3.py::test_forkpty',
        "AttributeError: module 'os' has no attribute 'forkpty'",
        '>       os.forkpty()\n'
        "E       AttributeError: module 'os' has no attribute 'forkpty'\n"
        'tests/test_probes3.py:5: AttributeError',
    ),
    Example(
        'signal-function-missing',
        'harnessdemo 1.0 node tests/test_probes.py::test_alarm',
        "AttributeError: module 'signal' has no attribute 'alarm'",
        '>       signal.alarm(1)\n'
        "E       AttributeError: module 'signal' has no attribute 'alarm'\n"
        'tests/test_probes.py:39: AttributeError',
    ),
    Example(
        'signal-call-failed',
        'harnessdemo 1.0 node tests/test_probes.py::test_sigwait',
        'OSError: [Errno -1] Unknown error',
        '>       signal.sigwait([signal.SIGUSR1])\n'
        'tests/test_probes.py:54: \n'
        '>       retsig = _signal.sigwait(sigset)\n'
        'E       OSError: [Errno -1] Unknown error\n'
        '/lib/python314.zip/signal.py:84: OSError',
    ),
    Example(
        'ipv6-disabled',
        'boltons 26.2.0 node tests/test_urlutils.py::test_query_params[ldap://[::192.9.5.5]/dc=exampl'
        'e,dc=com??sub?(sn=Jensen)]',
        'boltons.urlutils.URLParseError: invalid IPv6 host: \'::192.9.5.5\' (OSError("can\'t use AF_INET'
        '6, IPv6 is disabled"))',
        '>               inet_pton(socket.AF_INET6, host)\n'
        "E               OSError: can't use AF_INET6, IPv6 is disabled\n"
        '/lib/python3.14/site-packages/boltons/urlutils.py:868: OSError\n'
        '>       url_obj = URL(test_url)\n'
        'tests/test_urlutils.py:91: \n'
        '/lib/python3.14/site-packages/boltons/urlutils.py:490: in __init__\n'
        '/lib/python3.14/site-packages/boltons/urlutils.py:939: in parse_url\n'
        ">               raise URLParseError(f'invalid IPv6 host: {host!r} ({se!r})')\n"
        'E               boltons.urlutils.URLParseError: invalid IPv6 host: \'::192.9.5.5\' (OSError("c'
        'an\'t use AF_INET6, IPv6 is disabled"))\n'
        '/lib/python3.14/site-packages/boltons/urlutils.py:870: URLParseError',
    ),
    Example(
        'socket-not-supported',
        'boltons 26.2.0 chromium tests/test_socketutils.py::test_socketutils_netstring',
        'OSError: [Errno 138] Not supported',
        '>       server_socket.listen(100)\n'
        'E       OSError: [Errno 138] Not supported\n'
        'tests/test_socketutils.py:280: OSError',
    ),
    Example(
        'socket-attribute-missing',
        'harnessdemo 1.0 node tests/test_probes3.py::test_af_unix',
        "AttributeError: module 'socket' has no attribute 'AF_UNIX'",
        '>       s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n'
        "E       AttributeError: module 'socket' has no attribute 'AF_UNIX'\n"
        'tests/test_probes3.py:11: AttributeError',
    ),
    Example(
        'event-loop-no-server',
        'harnessdemo 1.0 node tests/test_probes.py::test_asyncio_server',
        'NotImplementedError: create_server() is not available in browser environments due to restric'
        'ted raw socket access.',
        '>       asyncio.run(main())\n'
        'tests/test_probes.py:92: \n'
        '/lib/python314.zip/pyodide/webloop.py:1133: in _run\n'
        '/lib/python314.zip/pyodide/webloop.py:404: in run_until_complete\n'
        'tests/test_probes.py:90: in main\n'
        '/lib/python314.zip/asyncio/streams.py:84: in start_server\n'
        '>       raise NotImplementedError(\n'
        'E       NotImplementedError: create_server() is not available in browser environments due to'
        ' restricted raw socket access.\n'
        '/lib/python314.zip/pyodide/webloop.py:951: NotImplementedError',
    ),
    Example(
        'no-tzset',
        'python-dateutil 4.0.0 node tests/test_tz.py::test_tzlocal_utc_equal[UTC]',
        "AttributeError: module 'time' has no attribute 'tzset'",
        '>       with TZEnvContext(tzvar):\n'
        'tests/test_tz.py:981: \n'
        'tests/_common.py:217: in __enter__\n'
        '>       time.tzset()\n'
        "E       AttributeError: module 'time' has no attribute 'tzset'\n"
        'tests/_common.py:253: AttributeError',
    ),
    Example(
        'no-tz-data',
        'harnessdemo 1.0 node tests/test_probes.py::test_zoneinfo',
        'zoneinfo._common.ZoneInfoNotFoundError: "No time zone found with key America/New_York. \\n On'
        ' Pyodide you must do pyodide.loadPackage(\'tzdata\') package before you use zoneinfo."',
        '>           path = resources.files(package_name).joinpath(resource_name)\n'
        '/lib/python314.zip/zoneinfo/_common.py:12: \n'
        '/lib/python314.zip/importlib/resources/_common.py:46: in wrapper\n'
        '/lib/python314.zip/importlib/resources/_common.py:56: in files\n'
        '/lib/python314.zip/functools.py:982: in wrapper\n'
        '/lib/python314.zip/importlib/resources/_common.py:82: in _\n'
        '>       return _bootstrap._gcd_import(name[level:], package, level)\n'
        "E       ModuleNotFoundError: No module named 'tzdata'\n"
        '/lib/python314.zip/importlib/__init__.py:88: ModuleNotFoundError\n'
        '>       zoneinfo.ZoneInfo("America/New_York")\n'
        'tests/test_probes.py:101: \n'
        '>               raise ZoneInfoNotFoundError(\n'
        'E               zoneinfo._common.ZoneInfoNotFoundError: "No time zone found with key America'
        "/New_York. \\n On Pyodide you must do pyodide.loadPackage('tzdata') package before you use zo"
        'neinfo."\n'
        '/lib/python314.zip/zoneinfo/_common.py:20: ZoneInfoNotFoundError',
    ),
    Example(
        'tz-variable-left-set',
        'python-dateutil 4.0.0 node tests/test_tz.py::GettzTzdataTest::testGettzCacheTzLocal',
        "AssertionError: assert tzstr('JST-9') is not tzstr('JST-9')",
        '>       assert local1 is not local2\n'
        "E       AssertionError: assert tzstr('JST-9') is not tzstr('JST-9')\n"
        'tests/test_tz.py:1090: AssertionError',
    ),
    Example(
        'memory-error',
        'harnessdemo 1.0 node tests/test_probes2.py::test_memory_list',
        'MemoryError',
        '>       x = [0] * (2**29)\n'
        'E       MemoryError\n'
        'tests/test_probes2.py:82: MemoryError',
    ),
    Example(
        'size-past-32-bit',
        'harnessdemo 1.0 node tests/test_probes.py::test_big_alloc',
        "OverflowError: cannot fit 'int' into an index-sized integer",
        '>       bytearray(3 * 2**30)\n'
        "E       OverflowError: cannot fit 'int' into an index-sized integer\n"
        'tests/test_probes.py:127: OverflowError',
    ),
    Example(
        'no-proc',
        'harnessdemo 1.0 node tests/test_probes.py::test_proc_mounts',
        "FileNotFoundError: [Errno 44] No such file or directory: '/proc/mounts'",
        '>       open("/proc/mounts").read()\n'
        "E       FileNotFoundError: [Errno 44] No such file or directory: '/proc/mounts'\n"
        'tests/test_probes.py:159: FileNotFoundError',
    ),
    Example(
        'os-filesystem-function-missing',
        'harnessdemo 1.0 node tests/test_probes.py::test_mkfifo',
        "AttributeError: module 'os' has no attribute 'mkfifo'",
        '>       os.mkfifo(tmp_path / "fifo")\n'
        "E       AttributeError: module 'os' has no attribute 'mkfifo'\n"
        'tests/test_probes.py:162: AttributeError',
    ),
    Example(
        'flock-does-not-lock',
        'harnessdemo 1.0 node tests/test_probes2.py::test_flock_conflict',
        "Failed: DID NOT RAISE <class 'BlockingIOError'>",
        "tmp_path = PosixPath('/tmp/pytest-of-web_user/pytest-0/test_flock_conflict0')\n"
        '    def test_flock_conflict(tmp_path):\n'
        '        fcntl.flock(a, fcntl.LOCK_EX | fcntl.LOCK_NB)\n'
        '>       with pytest.raises(BlockingIOError):\n'
        "E       Failed: DID NOT RAISE <class 'BlockingIOError'>\n"
        'tests/test_probes2.py:39: Failed',
    ),
    Example(
        'missing-stdlib-module',
        'harnessdemo 1.0 node tests/test_probes.py::test_getpwuid',
        "ModuleNotFoundError: No module named 'pwd'",
        '>       import pwd\n'
        "E       ModuleNotFoundError: No module named 'pwd'\n"
        'tests/test_probes.py:168: ModuleNotFoundError',
    ),
    Example(
        'jspi-sync-entrypoint',
        'harnessdemo 1.0 node tests/test_probes2.py::test_run_sync_in_js_callback',
        'RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous function. '
        'Use pyFunc.callPromising() to fix.',
        '>       js.Array.from_([1]).map(proxy)\n'
        'tests/test_probes2.py:24: \n'
        '>       return run_sync(asyncio.sleep(0))\n'
        'E       RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous fu'
        'nction. Use pyFunc.callPromising() to fix.\n'
        'tests/test_probes2.py:22: RuntimeError',
    ),
    Example(
        'hypothesis-deadline',
        'python-dateutil 4.0.0 chromium tests/property/test_rrule_prop.py::test_rruleset_roundtrip'
        '[deepcopy-empty]',
        "DeadlineExceeded('Test took 259.31ms, which exceeds the deadline of 200.00ms. If you expect "
        "test cases to take this long, you can use @settings(deadline=...) to either set a higher "
        "deadline, or to disable it with deadline=None.') [single exception in FlakyFailure]",
        '  | Unreliable test timings! On an initial run, this test took 259.31ms, which exceeded the '
        'deadline of 200.00ms, but on a subsequent run it took 0.57 ms, which did not.\n'
        '    | hypothesis.errors.DeadlineExceeded: Test took 259.31ms, which exceeds the deadline of '
        '200.00ms.',
    ),
    Example(
        'jspi-unavailable',
        'Pyodide 314.0.7 in Node 20 (no JSPI): run_sync(asyncio.sleep(0))',
        'RuntimeError: WebAssembly stack switching not supported in this JavaScript runtime',
        'Traceback (most recent call last):\n'
        '  File "<exec>", line 5, in <module>\n'
        'RuntimeError: WebAssembly stack switching not supported in this JavaScript runtime',
    ),
]

#: Real failures no rule explains, and must not: each would fail outside Pyodide too, or
#: says nothing about why.
UNEXPLAINED = [
    # nothing listens on port 9: refused natively as well (Node's Pyodide has real sockets)
    Example("", "harnessdemo 1.0 node tests/test_probes.py::test_connect",
            "ConnectionRefusedError: [Errno 14] Connection refused",
            '>       socket.create_connection(("127.0.0.1", 9), timeout=1)\n'
            "tests/test_probes.py:75: \n"
            "/lib/python314.zip/socket.py:870: in create_connection\n"
            ">               sock.connect(sa)\n"
            "E               ConnectionRefusedError: [Errno 14] Connection refused\n"
            "/lib/python314.zip/socket.py:855: ConnectionRefusedError"),
    # TZ had no effect (no tzset), but the assertion alone does not say so
    Example("", "harnessdemo 1.0 node tests/test_probes.py::test_localtime_zone",
            "assert 0 == 19\n +  where 0 = time.struct_time(tm_year=1970, tm_mon=1, tm_mday=1, "
            "tm_hour=0, tm_min=0, tm_sec=0, tm_wday=3, tm_yday=1, tm_isdst=0).tm_hour",
            ">       assert time.localtime(0).tm_hour == 19\n"
            "E       assert 0 == 19\n"
            "tests/test_probes.py:105: AssertionError"),
    Example("", "more-itertools 11.2.1 node tests/test_more.py::ZipBroadcastTests::test_zip",
            "TypeError: cannot pickle 'itertools.count' object",
            "/lib/python314.zip/dataclasses.py:1564: in _asdict_inner\n"
            ">                           rv = reductor(4)\n"
            "E                           TypeError: cannot pickle 'itertools.count' object\n"
            "/lib/python314.zip/copy.py:146: TypeError"),
    Example("", "bitarray 3.12.3 node test_free_threading.py (collect)",
            "AssertionError: assert 0\n +  where 0 = <function get_config_var at 0x237fe00>"
            "('Py_GIL_DISABLED')",
            "/lib/python3.14/site-packages/bitarray/test_free_threading.py:27: in <module>\n"
            "E   AssertionError: assert 0\n"
            "E    +  where 0 = <function get_config_var at 0x237fe00>('Py_GIL_DISABLED')"),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.rule for example in EXAMPLES])
def test_rule_explains_its_real_failure(example: Example) -> None:
    rule = explain(example.message, example.longrepr)
    assert rule is not None, f"no rule explains {example.source}"
    assert rule.name == example.rule, example.source
    assert cause_name(cause_of(example.message, example.longrepr)) == rule.cause


def test_every_rule_has_a_real_example_and_a_cause_from_the_vocabulary() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(example.rule for example in EXAMPLES)
    assert {rule.cause for rule in RULES} == set(CAUSES)  # every cause has a rule, too
    assert all(rule.why for rule in RULES)


@pytest.mark.parametrize("example", UNEXPLAINED, ids=lambda example: example.source.split()[0])
def test_unknown_stays_unknown(example: Example) -> None:
    assert explain(example.message, example.longrepr) is None
    assert cause_of(example.message, example.longrepr) is None
    assert cause_name(None) == UNKNOWN


def test_missing_module_is_named_and_only_for_what_pyodide_lacks() -> None:
    curses = "ModuleNotFoundError: No module named 'curses'"
    assert cause_of(curses, f"E   {curses}") == "missing-module: curses"
    assert cause_name("missing-module: curses") == "missing-module"
    # a collection error's message is pytest's sentence; the E line names the module
    text = "ImportError while importing test module '/x/tests/test_ui.py'."
    assert cause_of(text, "E   ModuleNotFoundError: No module named 'tkinter.ttk'",
                    "collect") == "missing-module: tkinter"
    # a third-party module is the suite's missing dependency, not a Pyodide limit
    numpy = "ModuleNotFoundError: No module named 'numpy'"
    assert cause_of(numpy, f"E   {numpy}") is None


def test_evidence_reads_pytest_long_and_native_tracebacks() -> None:
    # boltons 26.2.0, chromium, tests/test_socketutils.py::test_short_lines
    found = evidence("OSError: [Errno 138] Not supported",
                     ">           x, y = socket.socketpair()\n"
                     "tests/test_socketutils.py:22: \n"
                     ">           lsock.listen()\n"
                     "E           OSError: [Errno 138] Not supported\n"
                     "/lib/python314.zip/socket.py:622: OSError")
    assert found.exception == "OSError"
    assert found.frames[-1].path.endswith("/socket.py") and found.frames[-1].name == "OSError"
    assert found.raised_in("socket.py") and not found.crash
    native = evidence("OSError: x", 'Traceback (most recent call last):\n'
                      '  File "/lib/python314.zip/signal.py", line 84, in sigwait\nOSError: x')
    assert native.raised_in("signal.py")
    assert exception_of("zoneinfo._common.ZoneInfoNotFoundError: no") == "ZoneInfoNotFoundError"
    assert exception_of("MemoryError") == "MemoryError"
    assert exception_of("assert 0 == 19") == ""
    assert exception_of("node failed fatally (x) while running t.py::t") == ""


def test_host_texts_are_crashes_only_when_the_host_wrote_them() -> None:
    died = next(e for e in EXAMPLES if e.rule == "runtime-died")
    assert evidence(died.message, died.longrepr).crash
    # an exception whose message happens to say "while running" is not a crash
    assert cause_of("RuntimeError: failed while running setup", "") is None


def test_restart_reasons_get_causes() -> None:
    assert restart_cause("firefox failed fatally (Pyodide fatal error: InternalError: too much "
                         "recursion)") == "recursion"
    assert restart_cause("node failed fatally (Pyodide fatal error: RuntimeError: unreachable)"
                         ) == CRASH
    assert restart_cause("Timeout (>2s) in node: the interrupt did not land within 10s, so node "
                         "was stopped") == "timeout"
    assert restart_cause("node exited unexpectedly (code=1)") == CRASH


def test_fill_decides_failing_tests_only_and_keeps_stored_causes() -> None:
    example = next(e for e in EXAMPLES if e.rule == "no-threads")
    tests = [
        TestResult("t::failed", "failed", "call", 0.0, example.longrepr, [], example.message),
        TestResult("t::passed", "passed", "call", 0.0, example.longrepr, [], example.message),
        TestResult("t::stored", "failed", "call", 0.0, example.longrepr, [], example.message,
                   "sockets"),
        TestResult("t::not-run", "not-run", "call", 0.0),
        TestResult("t::unknown", "error", "setup", 0.0, "E   RuntimeError: boom", [],
                   "RuntimeError: boom"),
    ]
    fill(tests, stopped=False)
    assert [t.cause for t in tests] == ["threads", None, "sockets", None, None]
    fill(tests, stopped=True)  # the runtime stopped for good: its unrun tests crashed with it
    assert tests[3].cause == CRASH
    assert FAILING == BAD_OUTCOMES


def test_results_builder_stores_causes_and_results_json_round_trips_them() -> None:
    socket = next(e for e in EXAMPLES if e.rule == "socket-not-supported")
    builder = ResultsBuilder()
    builder.apply(PackageStarted("pkg", "1.0", "pkg-1.0-py3-none-any.whl", "0" * 64))
    builder.apply(RuntimeStarted("pkg", "node"))
    builder.apply(TestsCollected("pkg", "node", ("t.py::a", "t.py::b", "t.py::c")))
    builder.apply(PhaseRecorded("pkg", "node", "t.py::a", "call", "failed", 0.1,
                                socket.longrepr, (), None, socket.message))
    for when in ("setup", "call", "teardown"):
        builder.apply(PhaseRecorded("pkg", "node", "t.py::b", when, "passed", 0.1))
    builder.apply(RuntimeRestarted("pkg", "node", Restart("node", "node exited (code=1)",
                                                            "t.py::b", 0)))
    run = builder.build().packages[0].runtimes[0]
    assert [(t.nodeid, t.outcome, t.cause) for t in run.tests] == [
        ("t.py::a", "failed", "sockets"), ("t.py::b", "passed", None),
        ("t.py::c", "not-run", CRASH)]
    data = builder.build().to_json()
    tests = data["packages"][0]["runtimes"][0]["tests"]
    assert [t.get("cause") for t in tests] == ["sockets", None, CRASH]
    assert "cause" not in tests[1]  # optional: written only where there is one
    assert Results.from_json(data).packages[0].runtimes[0].tests == run.tests
    del tests[0]["cause"]  # a file from before causes existed still reads
    assert Results.from_json(data).packages[0].runtimes[0].tests[0].cause is None


def test_module_imports_no_pytest() -> None:
    source = causes.__file__
    assert source is not None
    with open(source, encoding="utf-8") as handle:
        text = handle.read()
    assert "import pytest" not in text and "from _pytest" not in text
