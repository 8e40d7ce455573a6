"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

It stands in for the remote LLM API (OpenAI, Ollama, vLLM, ...) that tests cannot reach:
the ``openai`` backend talks to it over real HTTP through the real ``openai`` client. A
``script`` decides, per request number, what the server does (answer, fail with a status
and headers, stall past the client's timeout, send a malformed body); ``max_requests`` makes
the server die after that many requests, as a remote server that goes away mid-run.

It also speaks the Batch API (``/v1/files`` upload, ``/v1/batches`` create and retrieve,
``/v1/files/{id}/content`` download): a ``BatchPlan`` says how many polls a batch stays
``in_progress``, how it ends (``completed``, ``expired``, ``failed``) and how many of its
requests were answered before that; answers come from the same ``responder``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
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


@dataclass
class BatchPlan:
    """How the server's batches behave: polls spent ``in_progress``, final status, requests answered."""

    polls_in_progress: int = 1
    outcome: str = "completed"
    answered: int | None = None


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
        batch_plan: BatchPlan | None = None,
    ) -> None:
        self.responder = responder
        self.script = script
        self.max_requests = max_requests
        self.batch_plan = batch_plan or BatchPlan()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_calls: list[str] = []
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

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                status, payload = server._batch_get(self.path.rstrip("/"))
                self._send(status, payload, {})

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if self.path.rstrip("/") in ("/v1/files", "/v1/batches"):
                    status, payload = server._batch_post(self.path.rstrip("/"), raw, self.headers.get("Content-Type", ""))
                    self._send(status, payload, {})
                    return
                body = json.loads(raw or b"{}")
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

    def _batch_post(self, path: str, raw: bytes, content_type: str) -> tuple[int, bytes]:
        with self._lock:
            self.batch_calls.append(f"POST {path}")
            if path == "/v1/files":
                message = BytesParser(policy=policy.default).parsebytes(
                    f"Content-Type: {content_type}\r\n\r\n".encode() + raw
                )
                data = next(p.get_payload(decode=True) for p in message.iter_parts()
                            if p.get_param("name", header="content-disposition") == "file")
                file_id = f"file-{len(self.files) + 1}"
                self.files[file_id] = data
                return 200, json.dumps({"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                                        "filename": "input.jsonl", "purpose": "batch", "status": "processed"}).encode()
            body = json.loads(raw or b"{}")
            batch_id = f"batch_{len(self.batches) + 1}"
            lines = [json.loads(line) for line in self.files[body["input_file_id"]].decode().splitlines() if line.strip()]
            self.batches[batch_id] = {"body": body, "lines": lines, "polls": 0, "status": "validating",
                                      "output_file_id": None, "error_file_id": None}
            return 200, json.dumps(self._batch_json(batch_id)).encode()

    def _batch_get(self, path: str) -> tuple[int, bytes]:
        with self._lock:
            self.batch_calls.append(f"GET {path}")
            parts = path.split("/")
            if len(parts) == 4 and parts[2] == "batches" and parts[3] in self.batches:
                batch = self.batches[parts[3]]
                batch["polls"] += 1
                if batch["status"] not in ("completed", "expired", "failed"):
                    if batch["polls"] <= self.batch_plan.polls_in_progress:
                        batch["status"] = "in_progress"
                    else:
                        self._finish_batch(batch)
                return 200, json.dumps(self._batch_json(parts[3])).encode()
            if len(parts) == 5 and parts[2] == "files" and parts[4] == "content" and parts[3] in self.files:
                return 200, self.files[parts[3]]
            return 404, b'{"error": {"message": "not found"}}'

    def _finish_batch(self, batch: dict[str, Any]) -> None:
        plan = self.batch_plan
        answered = len(batch["lines"]) if plan.answered is None else plan.answered
        out, errors = [], []
        for i, line in enumerate(batch["lines"]):
            if i < answered:
                body = _completion(line["body"], self.responder(line["body"]))
                out.append({"id": f"req_{i}", "custom_id": line["custom_id"], "error": None,
                            "response": {"status_code": 200, "request_id": f"r{i}", "body": body}})
            else:
                errors.append({"id": f"req_{i}", "custom_id": line["custom_id"], "response": None,
                               "error": {"code": "batch_expired", "message": "not executed before the window expired"}})
        for key, rows in (("output_file_id", out), ("error_file_id", errors)):
            if rows:
                file_id = f"file-{len(self.files) + 1}"
                self.files[file_id] = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
                batch[key] = file_id
        batch["status"] = plan.outcome
        batch["answered"] = answered

    def _batch_json(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        total = len(batch["lines"])
        completed = batch.get("answered", 0)
        return {
            "id": batch_id, "object": "batch", "endpoint": batch["body"]["endpoint"],
            "input_file_id": batch["body"]["input_file_id"], "completion_window": batch["body"]["completion_window"],
            "status": batch["status"], "created_at": int(time.time()), "output_file_id": batch["output_file_id"],
            "error_file_id": batch["error_file_id"], "metadata": batch["body"].get("metadata"),
            "request_counts": {"total": total, "completed": completed,
                               "failed": total - completed if batch["status"] in ("expired", "failed") else 0},
        }


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
