"""A real receiving HTTP server for the webhook suites: stdlib http.server in a thread on a
free port, written the way the README tells an e-contract service to: verify the signature
over the raw body, then deduplicate by event id."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.issuance.webhooks.signing import HEADER, verify_signature


class Receiver:
    """Counts what arrives: `received` (every POST), `refused` (bad signature, 401),
    `processed` (event ids handled once each, in order), `duplicates` (ids seen again).
    `status` forces an answer (e.g. 503, 400) after verifying; `fail_after_store` answers
    500 once after storing (a receiver that crashed before its reply)."""

    def __init__(self, secret: str, port: int, tolerance: int = 300) -> None:
        self.secret = secret
        self.port = port
        self.tolerance = tolerance
        self.received = 0
        self.refused = 0
        self.processed: list[str] = []
        self.duplicates: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status: int | None = None
        self.fail_after_store = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/jcan"

    def handle(self, header: str | None, raw: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            self.received += 1
            self.headers.append(headers)
            if not verify_signature(self.secret, header, raw, tolerance=self.tolerance):
                self.refused += 1
                return 401
            if self.status is not None:
                return self.status
            event = json.loads(raw)
            if event["id"] in self.processed:  # the dedupe: seen, so acknowledge only
                self.duplicates.append(event["id"])
                return 200
            self.processed.append(event["id"])
            self.bodies.append(event)
            if self.fail_after_store:
                self.fail_after_store = False
                return 500
            return 200

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.handle(self.headers.get(HEADER), raw, dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
