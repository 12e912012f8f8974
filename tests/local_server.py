"""A local HTTP endpoint for SDKs that cannot take a mock transport (boto3, LiteLLM's own HTTP clients).

Real sockets on 127.0.0.1, so each SDK's own HTTP stack, parsing and decoding run unchanged.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Reply = tuple[int, dict[str, str], bytes]
"""Status, headers, body."""


class Server:
    """Answers every request with `respond(path, body)`; records (path, body) pairs in `requests`."""

    def __init__(self, respond: Callable[[str, bytes], Reply]) -> None:
        self.respond = respond
        self.requests: list[tuple[str, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.requests.append((self.path, body))
                status, headers, payload = outer.respond(self.path, body)
                self.send_response(status)
                for name, value in {**headers, "x-amzn-requestid": "req-0001"}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.port = self.http.server_port
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.http.shutdown()
        self.http.server_close()
