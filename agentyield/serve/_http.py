"""OTLP/HTTP receiver: `POST /v1/traces` in protobuf or JSON (optionally gzip), and `GET /health`.

Answers like the Collector's receiver: a malformed body gets 400 with a `google.rpc.Status` (in the
request's encoding) naming what was wrong; an oversized body 413; a wrong content type 415; a missing or
wrong bearer token 401; a server whose booking is behind 503 with Retry-After (the exporters retry). A client that stops mid-body or stalls is cut off after `timeout` seconds. Nothing
a request sends can stop the server.
"""

from __future__ import annotations

import json
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable

from google.rpc.status_pb2 import Status
from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from ._decode import DecodeError, decode_json, decode_protobuf

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["HttpReceiver"]

_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
_INVALID_ARGUMENT, _UNAVAILABLE, _UNAUTHENTICATED = 3, 14, 16  # google.rpc.Code


class _ClientError(Exception):
    def __init__(self, status: int, message: str, code: int = _INVALID_ARGUMENT) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _gunzip(body: bytes, limit: int) -> bytes:
    """Decompress with a bound on the result: a small bomb must not become gigabytes."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise _ClientError(400, f"Content-Encoding gzip, but the body is not gzip: {exc}") from None
    if len(out) > limit:
        raise _ClientError(413, f"request body larger than {limit} bytes once decompressed")
    if not inflater.eof:
        raise _ClientError(400, "gzip body is truncated")
    return out


class HttpReceiver:
    def __init__(
        self,
        host: str,
        port: int,
        accept: Callable[[ExportTraceServiceRequest], int | None],
        health: Callable[[], dict[str, Any]],
        *,
        max_request_bytes: int,
        token: str | None,
        timeout: float = 10.0,
    ) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "agentyield-serve"

            def setup(self) -> None:
                self.timeout = timeout  # a stalled client is cut off, never a hung thread
                super().setup()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # no access log: the counters say what arrived

            def do_GET(self) -> None:  # noqa: N802
                if self.path.split("?")[0] in ("/health", "/"):
                    self._send(200, _JSON, json.dumps(health()).encode())
                else:
                    self._send(404, "text/plain", b"not found: POST /v1/traces, GET /health\n")

            def do_POST(self) -> None:  # noqa: N802
                content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                try:
                    response = receiver._handle(self, content_type)
                except _ClientError as exc:
                    self._status(exc.status, exc.code, str(exc), content_type)
                    return
                except OSError:  # the client stalled past the timeout or went away mid-body
                    self.close_connection = True
                    return
                if content_type == _JSON:
                    self._send(200, _JSON, MessageToJson(response, indent=None).encode())
                else:
                    self._send(200, _PROTOBUF, response.SerializeToString())

            def _status(self, status: int, code: int, message: str, content_type: str) -> None:
                if content_type == _JSON:
                    self._send(status, _JSON, json.dumps({"code": code, "message": message}).encode())
                else:
                    self._send(status, _PROTOBUF, Status(code=code, message=message).SerializeToString())

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    if status == 503:
                        self.send_header("Retry-After", "1")
                    if status >= 400:
                        self.send_header("Connection", "close")  # the rest of a bad body may still be in flight
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True  # the client is gone

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._accept = accept
        self._max = max_request_bytes
        self._token = token

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def _handle(self, handler: BaseHTTPRequestHandler, content_type: str) -> ExportTraceServiceResponse:
        if handler.path.split("?")[0] != "/v1/traces":
            raise _ClientError(404, f"{handler.path}: agentyield serve receives traces only, at /v1/traces")
        if self._token is not None and handler.headers.get("Authorization") != f"Bearer {self._token}":
            raise _ClientError(401, "missing or wrong bearer token (Authorization: Bearer ...)", _UNAUTHENTICATED)
        if content_type not in (_PROTOBUF, _JSON):
            raise _ClientError(415, f"Content-Type {content_type or '(none)'}: expected {_PROTOBUF} or {_JSON}")
        length = handler.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _ClientError(411, "a Content-Length header is required")
        if int(length) > self._max:
            raise _ClientError(413, f"request body of {length} bytes is larger than the limit of {self._max}")
        body = handler.rfile.read(int(length))
        if len(body) < int(length):
            raise _ClientError(400, f"body ended after {len(body)} of {length} bytes")
        encoding = (handler.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding == "gzip":
            body = _gunzip(body, self._max)
        elif encoding != "identity":
            raise _ClientError(415, f"Content-Encoding {encoding}: expected gzip or none")
        try:
            request = decode_json(body) if content_type == _JSON else decode_protobuf(body)
        except DecodeError as exc:
            raise _ClientError(400, str(exc)) from None
        response = ExportTraceServiceResponse()
        rejected = self._accept(request)
        if rejected is None:
            raise _ClientError(503, "busy: traces wait to be booked; retry later", _UNAVAILABLE)
        if rejected:
            response.partial_success.rejected_spans = rejected
            response.partial_success.error_message = "spans without a trace id or span id"
        return response

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        """Stop accepting; requests in progress finish."""
        self._server.shutdown()
        self._server.server_close()
