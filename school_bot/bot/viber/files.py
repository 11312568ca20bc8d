"""Files for Viber: its FileMessage takes a URL, so a report is served briefly from here.

The link is random (128 bits) and expires after an hour; the store lives in the
process that serves the Viber webhook.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from aiohttp import web

TTL_SECONDS = 3600
ROUTE = "/viber/files/{token}"


@dataclass
class _Stored:
    filename: str
    content: bytes
    expires: float


class FileStore:
    def __init__(self, base_url: str | None) -> None:
        self._base = base_url.rstrip("/") if base_url else None
        self._files: dict[str, _Stored] = {}

    @property
    def available(self) -> bool:
        return self._base is not None

    def publish(self, filename: str, content: bytes) -> str | None:
        if self._base is None:
            return None
        self._expire()
        token = secrets.token_urlsafe(16)
        self._files[token] = _Stored(filename, content, time.monotonic() + TTL_SECONDS)
        return f"{self._base}/viber/files/{token}"

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, f in self._files.items() if f.expires < now]:
            del self._files[token]

    async def serve(self, request: web.Request) -> web.Response:
        self._expire()
        stored = self._files.get(request.match_info["token"])
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored.content, headers={
            "Content-Disposition": f'attachment; filename="{stored.filename}"',
            "Cache-Control": "no-store",
        }, content_type="application/octet-stream")
