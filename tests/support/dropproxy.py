"""A loopback proxy in front of an OCR service that loses some answers after the service
has counted (billed) the call: it forwards the request, reads the whole answer, then
aborts the client's connection. The client sees a dropped connection (outcome unknown);
the service's `/v1/usage` has counted the call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class DropProxy:
    def __init__(self, upstream: str, drops: int) -> None:
        self.upstream = upstream.rstrip("/")
        self.drops = drops  # recognition answers still to lose
        self.dropped = 0
        self.url = ""

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with aiohttp.ClientSession(auto_decompress=False) as session, session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=body,
            ssl=False,
        ) as answer:
            payload = await answer.read()
            out_headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
            status = answer.status
        if "/ocr/" in request.path and status == 200 and self.drops > 0:
            self.drops -= 1
            self.dropped += 1
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        return web.Response(status=status, body=payload, headers=out_headers)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[DropProxy]:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            await runner.cleanup()
