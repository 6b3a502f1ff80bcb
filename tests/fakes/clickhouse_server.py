"""A test-only ClickHouse server: ClickHouse's HTTP interface, every statement run by chdb.

chdb binds a database directory to one process and no ClickHouse server runs here, so this
process owns the directory and speaks the HTTP interface to unmodified clickhouse-connect
clients (several netra processes' `ServerExecutor`s):

    python -m tests.fakes.clickhouse_server --port 8123 --path DIR [--verbose]

or `with clickhouse_server(DIR) as url:` (a subprocess; `url` is a NETRA_ANALYTICS_URL).

Spoken: GET /ping; GET/POST / with the statement in `query`, the body, or both (joined by
a newline); multipart forms; `param_*`, `database`, `default_format`, `query_id`,
`session_id`; other URL parameters are settings of that request; bodies chunked or not and
gzip/deflate/lz4/zstd-encoded; `INSERT … FORMAT f` + data streams into chdb. Answers are
whole and uncompressed, with X-ClickHouse-* headers; errors as ClickHouse words them.
Not spoken: authentication (anyone gets in), external data, compress/decompress=1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple
from urllib.error import URLError
from urllib.parse import parse_qsl, urlsplit
from urllib.request import urlopen

log = logging.getLogger("tests.fakes.clickhouse_server")

# URL parameters of the HTTP interface that are not settings.
_TRANSPORT = {"query", "database", "default_format", "user", "password", "quota_key", "role",
              "query_id", "session_id", "session_timeout", "session_check", "close_session",
              "compress", "decompress", "buffer_size", "wait_end_of_query", "stacktrace",
              "client_protocol_version"}  # fmt: skip
# Data starts after the format name, blanks and one newline (or at the first other byte).
_INSERT = re.compile(rb"\s*(INSERT\b.*?)\bFORMAT\s+(\w+)\b[ \t\f]*(?:\r?\n|(?=[^\s]))", re.I | re.S)
_OUTPUT_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*\Z", re.I)
_RESULT = re.compile(r"\s*\(?\s*(SELECT|WITH|SHOW|DESC|DESCRIBE|EXISTS|EXPLAIN|CHECK)\b", re.I)
_ERROR = re.compile(r"Code: (\d+)\. DB::Exception")
# ClickHouse's exceptionCodeToHTTPStatus by error name (and CANNOT_PARSE_*: 400); else 500.
_STATUS_TABLE = """
400 BAD_ARGUMENTS CANNOT_COMPILE_REGEXP DUPLICATE_COLUMN ILLEGAL_COLUMN THERE_IS_NO_COLUMN
400 TOO_DEEP_AST TOO_BIG_AST UNEXPECTED_AST_STRUCTURE SYNTAX_ERROR INCORRECT_DATA TYPE_MISMATCH
400 VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
404 UNKNOWN_TABLE UNKNOWN_FUNCTION UNKNOWN_IDENTIFIER UNKNOWN_TYPE UNKNOWN_STORAGE
404 UNKNOWN_DATABASE UNKNOWN_SETTING UNKNOWN_AGGREGATE_FUNCTION UNKNOWN_FORMAT
404 UNKNOWN_DATABASE_ENGINE UNKNOWN_TYPE_OF_QUERY
413 QUERY_IS_TOO_LARGE
501 NOT_IMPLEMENTED
"""
_STATUS = {name: int(row[0]) for row in map(str.split, _STATUS_TABLE.strip().splitlines())
           for name in row[1:]}  # fmt: skip
_CONTENT_TYPES = {"TabSeparated": "text/tab-separated-values", "JSON": "application/json"}
_BINARY = {"Native", "Arrow", "ArrowStream", "Parquet", "RowBinary", "ORC"}
_ZSTD = "compression.zstd" if sys.version_info >= (3, 14) else "backports.zstd"
_DECOMPRESSORS: dict[str, Callable[[], Any]] = {
    "gzip": lambda: zlib.decompressobj(wbits=31),
    "deflate": zlib.decompressobj,
    "lz4": lambda: importlib.import_module("lz4.frame").LZ4FrameDecompressor(),
    "zstd": lambda: importlib.import_module(_ZSTD).ZstdDecompressor(),
}


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _failure(message: str, code: int = 1001, name: str = "STD_EXCEPTION") -> Exception:
    return RuntimeError(f"Code: {code}. DB::Exception: {message}. ({name})")


def _summary(result: Any, data: bytes = b"") -> str:
    """X-ClickHouse-Summary of a chdb query result (methods) or insert result (fields)."""

    def get(name: str) -> Any:
        value = getattr(result, name, 0)
        return value() if callable(value) else value

    summary = {"read_rows": get("rows_read"), "read_bytes": get("bytes_read"),
               "written_rows": get("rows_written"), "written_bytes": get("bytes_written"),
               "total_rows_to_read": get("rows_read"), "result_bytes": len(data),
               "elapsed_ns": int(get("elapsed") * 1e9)}  # fmt: skip
    return json.dumps({name: str(value) for name, value in summary.items()}, separators=(",", ":"))


class Call(NamedTuple):
    """What a request asks besides its statement."""

    settings: dict[str, str]  # for this request only
    params: dict[str, str]  # values of {name:Type} placeholders
    database: str | None
    session_id: str | None
    default_format: str


class Engine:
    """The database directory on chdb: a connection per request (its settings die with it)
    or per session (its settings are put back); one statement at a time, and streamed
    INSERTs one at a time beside them (as ChdbExecutor does)."""

    def __init__(self, path: str) -> None:
        self._chdb = importlib.import_module("chdb")
        Path(path).mkdir(parents=True, exist_ok=True)
        self.path, self.lock, self.insert_lock = path, threading.Lock(), threading.Lock()
        self._root = self._chdb.connect(path)  # holds the database open
        answer = self._root.query("SELECT version(), timezone()", "TabSeparated").bytes()
        self.version, self.timezone = answer.decode().rstrip("\n").split("\t")
        self._sessions: dict[str, Any] = {}

    def _open(self, call: Call) -> tuple[Any, dict[str, str]]:
        """A connection set up for the call, and the session's settings to put back."""
        if call.session_id is None:
            connection = self._chdb.connect(self.path)
        else:
            if call.session_id not in self._sessions:
                self._sessions[call.session_id] = self._chdb.connect(self.path)
            connection = self._sessions[call.session_id]
        previous: dict[str, str] = {}
        try:
            if bad := [name for name in call.settings if not re.fullmatch(r"\w+", name)]:
                raise _failure(f"Unknown setting '{bad[0]}'", 115, "UNKNOWN_SETTING")
            if call.session_id is not None and call.settings:
                names = ", ".join(map(_quote, call.settings))
                sql = f"SELECT name, value FROM system.settings WHERE name IN ({names})"
                rows = connection.query(sql, "ArrowTable").to_pylist()
                previous = {row["name"]: row["value"] for row in rows}
            if call.database:
                connection.query(f"USE `{call.database.replace('`', '``')}`")
            for name, value in call.settings.items():
                connection.query(f"SET {name} = {_quote(value)}")
        except BaseException:
            self._close(call, connection, previous)
            raise
        return connection, previous

    def _close(self, call: Call, connection: Any, previous: dict[str, str]) -> None:
        if call.session_id is None:
            connection.close()
        for name, value in previous.items():
            connection.query(f"SET {name} = {_quote(value)}")

    def query(self, call: Call, sql: str) -> tuple[bytes, str]:
        with self.lock:
            connection, previous = self._open(call)
            try:
                result = connection.query(sql, call.default_format, params=call.params or None)
                data: bytes = result.bytes() or b""
                return data, _summary(result, data)
            finally:
                self._close(call, connection, previous)

    def insert(self, call: Call, statement: str, fmt: str, data: Iterator[bytes]) -> str:
        with self.insert_lock:
            with self.lock:
                connection, previous = self._open(call)
            try:
                with connection.send_insert(statement, fmt) as inserter:
                    for chunk in filter(None, data):
                        inserter.append(chunk)
                    return _summary(inserter.finish())
            finally:
                with self.lock:
                    self._close(call, connection, previous)

    def close(self) -> None:
        with self.lock:
            for connection in [*self._sessions.values(), self._root]:
                connection.close()


def _decoded(chunks: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """The body without its Content-Encoding; each compressed block may be its own frame."""
    if encoding in ("", "identity"):
        yield from chunks
        return
    if encoding not in _DECOMPRESSORS:
        raise _failure(f"Unknown HTTP compression method {encoding!r}", 48, "NOT_IMPLEMENTED")
    decompressor = _DECOMPRESSORS[encoding]()
    for chunk in chunks:
        while chunk:
            yield decompressor.decompress(chunk)
            if not decompressor.eof:
                break
            chunk, decompressor = decompressor.unused_data, _DECOMPRESSORS[encoding]()


def _insert_head(stream: Iterator[bytes]) -> tuple[bytes, re.Match[bytes] | None]:
    """Read until an `INSERT … FORMAT f` head is known, or the text is clearly not one."""
    head = b""
    for chunk in stream:
        head += chunk
        if (match := _INSERT.match(head)) or len(head) > 1 << 20:
            return head, match
        if len(head.lstrip()) >= 6 and head.lstrip()[:6].upper() != b"INSERT":
            return head, None
    return head, _INSERT.match(head + b"\n")  # the whole text: the data may be empty


def _error(error: Exception, version: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """ClickHouse's answer to a failed statement: its status, `Code: N. DB::Exception: …`
    and the exception code header (what clickhouse-connect's DatabaseError reports)."""
    text = str(error) if _ERROR.search(str(error)) else str(_failure(f"{error!r}"))
    match = _ERROR.search(text)
    assert match is not None
    text, names = text[match.start() :], re.findall(r"\(([A-Z0-9_]+)\)", text)
    headers["X-ClickHouse-Exception-Code"] = match.group(1)
    headers["Content-Type"] = "text/plain; charset=UTF-8"
    log.debug("%s", text)
    name = names[-1] if names else ""
    status = 400 if name.startswith("CANNOT_PARSE") else _STATUS.get(name, 500)
    return status, f"{text} (version {version})\n".encode()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], engine: Engine) -> None:
        super().__init__(address, Handler)
        self.engine = engine


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _raw_body(self) -> Iterator[bytes]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                yield self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return
        left = int(self.headers.get("Content-Length") or 0)
        while left > 0 and (piece := self.rfile.read(min(left, 1 << 16))):
            left -= len(piece)
            yield piece

    def _handle(self) -> None:
        engine, url = self.server.engine, urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if url.path in ("/ping", "/replicas_status") or (
            url.path == "/" and self.command == "GET" and "query" not in params
        ):
            return self._reply(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
        headers = {
            "X-ClickHouse-Server-Display-Name": "chdb-fake",
            "X-ClickHouse-Query-Id": params.get("query_id") or str(uuid.uuid4()),
            "X-ClickHouse-Timezone": params.get("session_timezone") or engine.timezone,
        }
        raw = self._raw_body()
        try:
            if url.path != "/":
                raise _failure(f"There is no handle {url.path}")
            encoding = self.headers.get("Content-Encoding", "").strip().lower()
            status, data = 200, self._execute(params, _decoded(raw, encoding), headers)
        except Exception as error:
            status, data = _error(error, engine.version, headers)
            try:
                for _ in raw:  # the rest of the body, so the connection can be reused
                    pass
            except Exception:
                self.close_connection = True
        self._reply(status, data, headers)

    do_GET = do_POST = _handle

    def _execute(self, params: dict[str, str], body: Iterator[bytes], headers: dict[str, str]
                 ) -> bytes:  # fmt: skip
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):  # query and param_* fields
            head = f"Content-Type: {content_type}\r\n\r\n".encode()
            form: Any = BytesParser(policy=HTTP).parsebytes(head + b"".join(body))
            for part in form.iter_parts():
                if part.get_filename():
                    raise _failure("external data is not supported by the fake server")
                name = part.get_param("name", header="content-disposition")
                params[name] = part.get_payload(decode=True).decode()
            body = iter(())
        if any(params.get(name, "0") not in ("0", "false") for name in ("compress", "decompress")):
            raise _failure("compress/decompress=1 are not supported by the fake server")
        call = Call(
            settings={k: v for k, v in params.items() if k not in _TRANSPORT and k[:6] != "param_"},
            params={k[6:]: v for k, v in params.items() if k[:6] == "param_"},
            database=params.get("database") or None,
            session_id=params.get("session_id") or None,
            default_format=params.get("default_format") or "TabSeparated",
        )
        query = params.get("query", "")
        stream = chain([query.encode() + b"\n"] if query else [], body)
        head, insert = _insert_head(stream)
        if insert:
            statement, fmt = insert.group(1).decode().rstrip(), insert.group(2).decode()
            data = chain([head[insert.end() :]], stream)
            headers["X-ClickHouse-Summary"] = self.server.engine.insert(call, statement, fmt, data)
            return b""
        sql = (head + b"".join(stream)).decode()
        answer, headers["X-ClickHouse-Summary"] = self.server.engine.query(call, sql)
        fmt = (m := _OUTPUT_FORMAT.search(sql)) and m.group(1) or call.default_format
        if answer or _RESULT.match(sql):  # a DDL statement has no output format
            headers["X-ClickHouse-Format"] = fmt
            kind = "application/octet-stream" if fmt in _BINARY else "text/plain"
            headers["Content-Type"] = _CONTENT_TYPES.get(fmt, kind) + "; charset=UTF-8"
        return answer

    def _reply(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "text/plain; charset=UTF-8", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# -- running it ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    with suppress(URLError, OSError), urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as r:
        return bool(r.read() == b"Ok.\n")
    return False


@contextmanager
def clickhouse_server(path: Path | str, *, timeout: float = 30.0) -> Iterator[str]:
    """The fake server in a subprocess on a free port, serving the database directory
    `path`; yields its NETRA_ANALYTICS_URL and stops the process on exit."""
    root = Path(__file__).resolve().parents[2]
    for _attempt in range(3):  # another process may take the free port before the server
        port = _free_port()
        command = [sys.executable, "-m", "tests.fakes.clickhouse_server", "--path", str(path)]
        command += ["--port", str(port), "--exit-with-stdin"]  # gone if this process dies
        process = subprocess.Popen(command, cwd=root, stdin=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while process.poll() is None and not _answers_ping(port):
            if time.monotonic() > deadline:
                process.kill()
                raise TimeoutError(f"the fake ClickHouse server did not answer in {timeout}s")
            time.sleep(0.05)
        if process.poll() is None:
            break
        process.communicate()  # closes its stdin
    else:
        raise RuntimeError(f"the fake ClickHouse server exited with {process.returncode}")
    try:
        yield f"clickhouse://default:@127.0.0.1:{port}/default"
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)  # closes its stdin and waits
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A test-only ClickHouse server on chdb.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--path", required=True, help="the chdb database directory")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--exit-with-stdin", action="store_true", help="stop when stdin closes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        stream=sys.stderr, format="clickhouse-fake: %(message)s")  # fmt: skip
    engine = Engine(args.path)
    server = Server((args.host, args.port), engine)
    # shutdown() waits for serve_forever(), which this (main) thread runs: ask from another
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())

    def stop_at_end_of_stdin() -> None:  # the process that started this one has ended
        sys.stdin.buffer.read()
        server.shutdown()

    if args.exit_with_stdin:
        threading.Thread(target=stop_at_end_of_stdin, daemon=True).start()
    log.debug("serving %s on http://%s:%d", args.path, args.host, server.server_port)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        engine.close()


if __name__ == "__main__":
    main()
