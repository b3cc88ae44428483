"""Bodies over the limit are refused (413) before anything parses them; an access log of ids."""

import json
import logging
import time

from ivyi_pipeline.api.errors import ApiError, unavailable, unexpected
from ivyi_pipeline.faults import is_database_unavailable

log = logging.getLogger("ivyi.api.access")


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"the request body is over {limit} bytes; send only the fields /openapi.json describes",
        field="body",
    )


async def _send_error(send, error: ApiError) -> None:
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: a Content-Length over `limit`, or a streamed body that grows past it,
    gets 413 before the application reads a byte of it; smaller bodies are passed on whole."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _send_error(send, _too_large(self.limit))
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await _send_error(send, _too_large(self.limit))
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, delivered = b"".join(chunks), False
        scope["ivyi.body"] = body

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


class AccessLog:
    """ASGI middleware: one line per request, method, path (ids only), status and time; never
    a header, a body, a query string or the client's address. An exception that escaped the
    application becomes a JSON answer here (503 for a database fault, 500 for a bug), so that
    the server logs no traceback."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 0

        async def record(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        except Exception as exc:
            if status:
                raise
            error = unavailable(exc) if is_database_unavailable(exc) else unexpected(exc)
            await _send_error(record, error)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            # Escaped: a path is the client's text, and must not forge or break log lines.
            path = scope.get("path", "")[:200].encode("unicode_escape").decode("ascii")
            log.info("%s %s %s %.1f ms", scope.get("method"), path, status, elapsed)
