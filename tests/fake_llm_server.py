"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

It stands in for the remote LLM API (OpenAI, Ollama, vLLM, ...) that tests cannot reach:
the ``openai`` backend talks to it over real HTTP through the real ``openai`` client. A
``script`` decides, per request number, what the server does (answer, fail with a status
and headers, stall past the client's timeout, send a malformed body); ``max_requests`` makes
the server die after that many requests, as a remote server that goes away mid-run.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server does for one request. ``content`` None: use the server's responder."""

    status: int = 200
    content: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None
    delay_s: float = 0.0


Script = Callable[[int, dict[str, Any]], Reply]


def default_script(_: int, __: dict[str, Any]) -> Reply:
    return Reply()


class FakeLLMServer:
    """Chat-completions endpoint at ``base_url``; records every request body and headers."""

    def __init__(
        self,
        responder: Callable[[dict[str, Any]], str],
        script: Script = default_script,
        max_requests: int | None = None,
        port: int = 0,
    ) -> None:
        self.responder = responder
        self.script = script
        self.max_requests = max_requests
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._stopped = False

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket: later connections are refused."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    number = len(server.requests)
                    if server._stopped or (server.max_requests is not None and number >= server.max_requests):
                        self.close_connection = True
                        self.connection.close()
                        return
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    last = server.max_requests is not None and number + 1 >= server.max_requests
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "not found"}}', {})
                    return
                reply = server.script(number, body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.raw_body is not None:
                    payload = reply.raw_body
                elif reply.status != 200:
                    payload = json.dumps({"error": {"message": f"scripted status {reply.status}"}}).encode()
                else:
                    content = reply.content if reply.content is not None else server.responder(body)
                    payload = json.dumps(_completion(body, content)).encode()
                self._send(reply.status, payload, reply.headers)
                if last:
                    threading.Thread(target=server.stop, daemon=True).start()

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    return

        return Handler


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages", []))
    prompt_tokens = max(1, prompt_chars // 4)
    completion_tokens = max(1, len(content) // 4)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
