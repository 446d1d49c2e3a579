"""One pure-ASGI middleware: request id, body-size and content-type checks, metrics, access log."""

from __future__ import annotations

import logging
import re
import time

from service.api.errors import error_response
from service.api.observability import LATENCY, REQUESTS, child
from service.core.ids import new_hex

log = logging.getLogger("triage.access")
_RID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class TriageMiddleware:
    def __init__(self, app, max_body_bytes: int, known_paths: set[str] | None = None) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.known_paths = known_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id", "")
        rid = rid if _RID_OK.match(rid) else new_hex()
        scope.setdefault("state", {})["request_id"] = rid
        status_holder = {"status": 500}
        method, path = scope["method"], scope["path"]

        async def send_wrapped(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        early = None
        if method in ("POST", "PUT", "PATCH") and path.startswith("/v1/"):
            length = headers.get("content-length")
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if length and length.isdigit() and int(length) > self.max_body:
                early = error_response(413, "payload_too_large", f"request body is {length} bytes; the limit is {self.max_body}", rid)
            elif ctype != "application/json" and not (ctype == "" and length == "0"):
                early = error_response(415, "unsupported_media_type", f"send JSON with Content-Type: application/json (got {ctype or 'none'})", rid)
        if early is not None:
            await early(scope, receive, send_wrapped)
        else:
            received = 0
            too_big = False

            async def receive_limited():
                nonlocal received, too_big
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        too_big = True
                        return {"type": "http.request", "body": b"", "more_body": False}
                return message

            if method in ("POST", "PUT", "PATCH"):
                body = b""
                more = True
                while more:
                    msg = await receive_limited()
                    if msg["type"] != "http.request":
                        break
                    body += msg.get("body", b"")
                    more = msg.get("more_body", False)
                if too_big:
                    await error_response(413, "payload_too_large", f"request body exceeds the limit of {self.max_body} bytes", rid)(scope, receive, send_wrapped)
                else:
                    sent = False

                    async def replay():
                        nonlocal sent
                        if not sent:
                            sent = True
                            return {"type": "http.request", "body": body, "more_body": False}
                        return await receive()

                    await self.app(scope, replay, send_wrapped)
            else:
                await self.app(scope, receive, send_wrapped)
        elapsed = time.perf_counter() - start
        route = scope.get("route")
        template = getattr(route, "path", None) or (path if self.known_paths and path in self.known_paths else "other")
        child(REQUESTS, template, method, str(status_holder["status"])).inc()
        child(LATENCY, template).observe(elapsed)
        if template != "/metrics":
            log.info("request", extra={"request_id": rid, "method": method, "path": template,
                                       "status": status_holder["status"], "duration_ms": round(elapsed * 1000, 3)})
