"""No traceback on any input (issue 10, item 5): arguments and files are checked before any
network work (one line, exit 2); outputs are checked writable up front, and one that still fails
at the end does not lose the others; an unexpected error is one line and exit 70; messages carry
no Python reprs.

Everything runs in-process (click's CliRunner). Nothing leaves loopback: every socket `connect`
and `sendto` goes through a guard that records it and refuses any address off loopback, and the
nameserver is a small in-process server that answers REFUSED to every question (DNS fails at
once, no timeout).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import ipaddress
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.rcode
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailaudit.cli import main
from mailaudit.context import Context
from mailaudit.net.errors import NetError
from mailaudit.net.http import fetch
from mailaudit.report.exit_codes import EXIT_INTERNAL, EXIT_OUTPUT, EXIT_USAGE
from mailaudit.report.json_report import dump_report
from mailaudit.settings import Settings, Timeouts
from tests.unit.report_samples import hostile_report


class _RefusingDns:
    """A UDP DNS server on 127.0.0.1 that answers REFUSED to everything and counts questions: an
    unanswered question would cost the resolver's whole timeout, a refused one nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.questions = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return  # closed
            self.questions += 1
            try:
                reply = dns.message.make_response(dns.message.from_wire(data))
            except dns.exception.DNSException:
                continue
            reply.set_rcode(dns.rcode.REFUSED)
            self.sock.sendto(reply.to_wire(), peer)


_DNS = _RefusingDns()
# Where nothing listens (the end of this suite's lab range, 127.0.0.220-229, no scenario on it).
NOWHERE = "127.0.0.229"
ENV = {
    "MAILAUDIT_NAMESERVER": _DNS.address,
    "MAILAUDIT_CA_FILE": None,
    "MAILAUDIT_ISPDB": None,
    "MAILAUDIT_DEBUG": None,
}


@dataclasses.dataclass
class _Guard:
    """Every address a socket connected or sent to during a test."""

    peers: list[Any] = dataclasses.field(default_factory=list)

    def check(self, address: Any) -> None:
        self.peers.append(address)
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            raise OSError(errno.ENETUNREACH, "off loopback (test guard)")


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    _DNS.sock.close()
    shutil.rmtree(FILES, ignore_errors=True)


@pytest.fixture(autouse=True)
def guard() -> Iterator[_Guard]:
    """Patched on the class for the whole test (hypothesis runs many examples in one test)."""
    seen = _Guard()
    connect, connect_ex, sendto = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.socket.sendto,
    )

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        seen.check(address)
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        seen.check(address)
        return connect_ex(sock, address)

    def guarded_sendto(sock: socket.socket, data: Any, *args: Any) -> int:
        seen.check(args[-1])
        return sendto(sock, data, *args)  # type: ignore[call-overload, no-any-return]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded_connect)
        patch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
        patch.setattr(socket.socket, "sendto", guarded_sendto)
        yield seen


def run(*argv: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(main, list(argv), env={**ENV, **(env or {})}, catch_exceptions=True)


def assert_one_line_error(result: Result, *, code: int = EXIT_USAGE) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


def test_a_bad_domain_is_one_line_before_any_network_work(guard: _Guard) -> None:
    # Before: the audit ran and reported the domain "not audited: UsageError(...)" (exit 4).
    questions = _DNS.questions
    line = assert_one_line_error(run("audit", "bad domain!"))
    assert "'bad domain!' is not a domain name" in line
    assert guard.peers == []
    assert _DNS.questions == questions


def test_an_output_path_in_a_missing_directory_is_refused_before_the_audit(guard: _Guard) -> None:
    # Before: the whole audit ran, then a FileNotFoundError traceback lost the results.
    line = assert_one_line_error(run("audit", "good.test", "--json", "/nonexistent/dir/x.json"))
    assert "--json" in line
    assert "does not exist" in line
    assert guard.peers == []


def test_one_output_failing_at_the_end_leaves_the_others_written(tmp_path: Path) -> None:
    # /dev/full passes the check up front (it exists and is writable) and fails on write.
    html = tmp_path / "report.html"
    sarif = tmp_path / "report.sarif"
    result = run(
        "audit",
        "--only",
        "policy",
        "nowhere.test",
        "--json",
        "/dev/full",
        "--html",
        str(html),
        "--sarif",
        str(sarif),
        "-q",
    )
    line = assert_one_line_error(result, code=EXIT_OUTPUT)
    assert line.startswith("Error: --json /dev/full: not written: No space left on device")
    assert html.read_text(encoding="utf-8").lower().startswith("<!doctype html>")
    assert '"version": "2.1.0"' in sarif.read_text(encoding="utf-8")
    assert "nowhere.test" in result.stdout  # and the report itself was printed


def test_report_output_failing_is_its_own_exit_code(tmp_path: Path) -> None:
    saved = tmp_path / "r.json"
    assert run("audit", "--only", "policy", "nowhere.test", "--json", str(saved)).exit_code != 2
    line = assert_one_line_error(run("report", str(saved), "-o", "/dev/full"), code=EXIT_OUTPUT)
    assert line.startswith("Error: --output /dev/full: not written")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["audit", "a.test", "--timeout", "nan"], "--timeout"),
        (["audit", "a.test", "--timeout", "0"], "--timeout"),
        (["audit", "a.test", "--budget", "-1"], "--budget"),
        (["audit", "a.test", "--budget", "1e400"], "--budget"),
        (["audit", "a.test", "--timeout", "x"], "--timeout"),
        (["audit", "a.test", "--ehlo-name", "x\r\nRCPT TO:<a@b>"], "--ehlo-name"),
        (["audit", "a.test", "--ca-file", "/etc/hostname"], "--ca-file"),
        (["audit", "a.test", "--ca-file", "/nonexistent/ca.pem"], "--ca-file"),
        (["audit", "a.test", "--requirements", "/nonexistent/req.toml"], "--requirements"),
        (["audit", "a.test", "--domains-file", "/nonexistent/domains"], "--domains-file"),
        (["audit", "a.test", "--nameserver", "x"], "--nameserver"),
        (["audit", "a.test", "--nameserver", "127.0.0.1:99999"], "--nameserver"),
        (["audit", "a.test", "--resolve", "a.test"], "--resolve"),
        (["audit", "a.test", "--resolve", "a b:127.0.0.1"], "--resolve"),
        (["audit", "a.test", "--endpoint", "smtp://a b"], "--endpoint"),
        (["audit", "a.test", "--endpoint", "smtp://host:port"], "--endpoint"),
        (["audit", "a.test", "--endpoint", "gopher://a.test"], "--endpoint"),
        (["audit", "a.test", "--scope", "not a domain"], "--scope"),
        (["audit", "a.test", "--json", "/tmp"], "--json"),
        (["audit", "a.test", "--json", "x\0y"], "--json"),
        (["audit", "a.test", "--json", "-"], "--json"),
        (["audit", "a.test", "--jsonl", "/nonexistent/dir/run.jsonl"], "--jsonl"),
        (["audit", "a.test", "--relay-test-domain", "not a domain"], "--relay-test-domain"),
        (["audit", "a.test\x1b[31m"], "DOMAIN"),
        (["audit", "bücher!.test"], "DOMAIN"),
        (["audit", "--only", "policy", "a.test", "--endpoint", "smtp://a.test"], "--only"),
        (["audit", "--no-such-option"], "--no-such-option"),
        (["probe", "smtp://a b"], "URL"),
        (["probe", "gopher://a.test"], "URL"),
        (["discover", "x@"], "ADDRESS_OR_DOMAIN"),
        (["discover", "a@b@"], "ADDRESS_OR_DOMAIN"),
        (["discover", "a.test", "--ispdb-url", "ftp://x"], "--ispdb-url"),
        (["discover", "a.test", "--login", "--password-env", "A\0B"], "--password-env"),
        (["discover", "a.test", "--ispdb", "/nonexistent"], "--ispdb"),
        (["report", "/nonexistent.json"], "RESULTS"),
        (["diff", "/nonexistent.json", "/nonexistent.json"], "OLD"),
        (["ispdb", "lint", "/nonexistent"], "DIRECTORY"),
        (["serve", "--port", "0"], "--port"),
        (["serve", "--host", "a b"], "--host"),
        (["serve", "--report", "/nonexistent.json"], "--report"),
    ],
)
def test_bad_arguments_are_one_line_and_touch_no_network(
    argv: list[str], expected: str, guard: _Guard
) -> None:
    questions = _DNS.questions
    assert expected in assert_one_line_error(run(*argv))
    assert guard.peers == []
    assert _DNS.questions == questions


def test_unreadable_files_are_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "report.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in assert_one_line_error(run("report", str(binary)))
    stream = tmp_path / "run.jsonl"
    stream.write_bytes(b"\xff\xfe\x00garbage\n")
    assert "not a mailaudit JSONL stream" in assert_one_line_error(run("report", str(stream)))
    assert "not UTF-8" in assert_one_line_error(run("audit", "a.test", "--policy", str(binary)))
    assert "not UTF-8" in assert_one_line_error(
        run("audit", "--domains-file", str(binary), "a.test")
    )
    assert "--output" in assert_one_line_error(
        run("report", str(binary), "-o", str(tmp_path / "missing" / "x.html"))
    )


def test_an_unexpected_error_is_one_line_with_a_hint_and_exit_70(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> str:
        raise RuntimeError("schema lost\nsecond line")

    monkeypatch.setattr("mailaudit.cli.reports.schema_text", broken)
    line = assert_one_line_error(run("schema"), code=EXIT_INTERNAL)
    assert "internal error (RuntimeError: schema lost\\nsecond line)" in line
    assert "please report it" in line
    assert "MAILAUDIT_DEBUG=1" in line
    # A developer sets MAILAUDIT_DEBUG and gets the exception itself (its traceback).
    debug = run("schema", env={"MAILAUDIT_DEBUG": "1"})
    assert isinstance(debug.exception, RuntimeError)


async def test_a_broken_status_line_is_reported_without_a_python_repr() -> None:
    # Given an HTTP server whose status line is not HTTP ...
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ctx = Context.create(
        Settings(
            resolve={"broken.test": ("127.0.0.1",)},
            allow_private=True,
            timeouts=dataclasses.replace(Timeouts(), http_s=5),
        )
    )
    # ... when it is fetched, the error says what came, not how Python shows bytes.
    # Before: "illegal status line: bytearray(b'HTTP/1.1 2x0 OK')".
    async with server:
        with pytest.raises(NetError) as caught:
            await fetch(ctx, f"http://broken.test:{port}/")
    message = str(caught.value)
    assert 'illegal status line: "HTTP/1.1 2x0 OK"' in message
    assert "bytearray" not in message
    assert "b'" not in message


# --- generated command lines ------------------------------------------------------------------

# Files the generated command lines may name: a saved report, an ISPDB directory, a requirements
# file, made once for the module (strategies are built at import, before any fixture).
FILES = Path(tempfile.mkdtemp(prefix="mailaudit-cli-input-"))
SAVED = FILES / "saved.json"
SAVED.write_text(dump_report(hostile_report()), encoding="utf-8")
(FILES / "ispdb").mkdir()
(FILES / "ispdb" / "a.test.xml").write_text("<clientConfig version='1.1'/>", encoding="utf-8")
REQUIREMENTS = FILES / "mailaudit.toml"
REQUIREMENTS.write_text("", encoding="utf-8")

_text = st.text(st.characters(codec="utf-8"), max_size=30)
_good_names = st.sampled_from(
    ["a.test", "good.test", "ex-ample.test", "xn--bcher-kva.test", "bücher.test", "A.TEST."]
)
_names = st.one_of(_good_names, st.from_regex(r"[a-z0-9.\-_!@ ]{0,40}", fullmatch=True), _text)
_urls = st.builds(
    lambda scheme, host, port: f"{scheme}://{host}{port}",
    st.sampled_from(["smtp", "submission", "imaps", "pop3", "http", "https", "", "SMTP"]),
    st.one_of(_names, st.just(NOWHERE)),
    st.sampled_from(["", ":25", ":0", ":99999", ":x", ":"]),
)
_numbers = st.one_of(
    st.sampled_from(["0", "-1", "nan", "inf", "1e309", "0.2", "86401", "", "x", "65536", "3"]),
    st.floats(allow_nan=True).map(str),
    st.integers().map(str),
)
_paths = st.sampled_from(
    [
        "/nonexistent/dir/x.json",
        "/tmp",
        "",
        "x\0y",
        "/dev/full",
        "/etc/hostname",
        "-",
        "é\x07",
        str(SAVED),
        str(FILES / "ispdb"),
        str(REQUIREMENTS),
        str(FILES / "out.json"),
    ]
)


def _opts(names: list[str], values: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.tuples(st.sampled_from(names), values)


_NETWORK = [
    _opts(["--timeout", "--budget"], _numbers),
    _opts(["--ca-file"], _paths),
    _opts(["--ehlo-name"], _names),
    _opts(["--resolve"], st.sampled_from([f"a.test:{NOWHERE}", "x", ":", "a:b", "a b:::1"])),
    _opts(["--nameserver"], st.sampled_from(["x", "1.2.3.4:0", "::1:x", "", _DNS.address])),
    _opts(["--private-network", "--global-network"], _text),
    st.just(("--allow-private",)),
]
_ANY = [st.tuples(_text), st.tuples(_text, _text)]  # stray words, unknown options
_FORMAT = _opts(["--format"], st.one_of(st.sampled_from(["text", "json", "html"]), _text))
_FAIL_ON = _opts(["--fail-on"], st.one_of(st.sampled_from(["low", "high"]), _text))
# Each command: its operands and its own options, with good values often enough that the checks
# after click's own ones are reached.
_COMMANDS: dict[tuple[str, ...], tuple[st.SearchStrategy[str], list[Any]]] = {
    ("audit",): (
        st.one_of(_good_names, _names),
        [
            *_NETWORK,
            _opts(["--json", "--html", "--sarif", "--junit", "--jsonl"], _paths),
            _opts(["--requirements", "--domains-file", "--ispdb"], _paths),
            _opts(["--endpoint"], _urls),
            _opts(["--relay-test-domain", "--scope"], _names),
            _opts(["--only", "--skip"], st.one_of(st.sampled_from(["policy", "mx", "tls"]), _text)),
            _opts(["--dask"], _text),
            st.just(("--resume",)),
            st.just(("-q",)),
            _FORMAT,
            _FAIL_ON,
        ],
    ),
    ("probe",): (
        st.one_of(st.just(f"smtp://{NOWHERE}"), _urls),
        [*_NETWORK, _FORMAT, st.just(("--no-transcript",))],
    ),
    ("discover",): (
        st.one_of(st.sampled_from(["alice@a.test", "a.test"]), _names),
        [
            *_NETWORK,
            _opts(["--ispdb"], _paths),
            _opts(["--ispdb-url"], st.one_of(st.just("https://ispdb.test/v1"), _text, _urls)),
            _opts(["--guess"], st.one_of(st.just("never"), _text)),
            _opts(["--password-env", "--allow-foreign-login"], _text),
            _FORMAT,
            _FAIL_ON,
        ],
    ),
    ("report",): (
        _paths,
        [_opts(["-o", "--requirements"], _paths), _FORMAT, _FAIL_ON, st.just(("-q",))],
    ),
    ("diff",): (_paths, [_opts(["--requirements"], _paths), _FORMAT, _FAIL_ON]),
    ("checks",): (st.one_of(st.sampled_from(["tls", "spf.all"]), _text), [_FORMAT]),
    ("schema",): (_text, []),
    ("ispdb", "lint"): (_paths, [_FORMAT, _FAIL_ON]),
    ("serve",): (
        _text,
        [
            *_NETWORK,
            _opts(["--host"], st.one_of(st.just("127.0.0.1"), _names)),
            _opts(["--port", "--max-discoveries", "--per-minute"], _numbers),
            _opts(["--report"], _paths),
            _opts(["--allow-network"], st.one_of(st.just("127.0.0.0/24"), _text)),
        ],
    ),
}


@st.composite
def _argv(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(_COMMANDS)))
    operands, options = _COMMANDS[command]
    words = draw(st.lists(operands, max_size=2))
    for option in draw(st.lists(st.one_of(*options, *_ANY), max_size=3)):
        words.extend(option)
    return [*command, *draw(st.permutations(words))]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Generated command lines write files (`report -o -q saved.json` writes one named -q):
    into a directory of the test's own, never the checkout."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """`serve` parses and checks its arguments, builds its app, and stops where uvicorn would
    start listening."""
    import uvicorn

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append(kwargs))
    return started


def test_serve_gets_as_far_as_listening_with_good_arguments(
    no_server: list[dict[str, Any]],
) -> None:
    result = run("serve", "--host", "127.0.0.1", "--port", "8026")
    assert result.exit_code == 0, result.output
    assert no_server == [
        {"host": "127.0.0.1", "port": 8026, "access_log": False, "log_level": "warning"}
    ]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(argv=_argv())
@example(argv=["audit", "a.test"])  # each kind of command once through to a result
@example(argv=["audit", "--only", "policy", "a.test", "--format", "json"])
@example(argv=["probe", f"smtp://{NOWHERE}"])
@example(argv=["discover", "alice@a.test"])
@example(argv=["checks", "tls"])
@example(argv=["serve"])
@example(argv=["report", "-o", "-q", str(SAVED)])  # the result is a file (named -q)
@example(argv=["probe", "smtp://a.test", "--nameserver", ""])  # not the system's resolvers
def test_generated_command_lines_give_a_result_or_one_line(
    argv: list[str], guard: _Guard, no_server: list[dict[str, Any]], in_tmp: Path
) -> None:
    if "--login" in argv:
        argv.remove("--login")  # a password prompt would wait for input
    if argv[0] in ("audit", "probe", "discover"):
        # Small deadlines first (generated ones come later and win): a run that gets as far as
        # the network ends quickly.
        argv[1:1] = ["--timeout", "0.5", "--budget", "2"]
    guard.peers.clear()  # one guard serves every example of this test
    result = run(*argv)

    assert result.exception is None or isinstance(result.exception, SystemExit), (
        argv,
        result.exception,
    )
    assert "Traceback" not in result.output, argv
    assert result.exit_code != EXIT_INTERNAL, (argv, result.stderr)
    if result.exit_code == EXIT_USAGE:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (argv, result.stderr)
        assert lines[0].startswith("Error: "), (argv, result.stderr)
    else:
        assert result.exit_code in (0, 1, 3, 4, EXIT_OUTPUT), (
            argv,
            result.exit_code,
            result.stderr,
        )
        # A result: the report on standard output, or the file `report -o FILE` wrote.
        wrote = result.stderr.startswith("wrote ")
        assert result.stdout or wrote or argv[0] == "serve", (argv, result.stderr)
    # The guard refused every connection off loopback (nothing left this machine); the tool may
    # only have tried one to an address the user typed (`probe smtp://::25`), never one it found
    # on its own (the system resolver, a default server).
    typed = " ".join(argv)
    for peer in guard.peers:
        host = peer[0].split("%")[0]
        assert ipaddress.ip_address(host).is_loopback or host in typed, (argv, peer)
