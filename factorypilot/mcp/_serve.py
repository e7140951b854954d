"""Running the server: stdio (the local user's desktop assistant) or streamable HTTP (bearer tokens)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Literal

from factorypilot.mcp._act import apply_loop
from factorypilot.mcp._deployment import PilotTarget, open_deployment
from factorypilot.mcp._server import build_server

__all__ = ["serve"]


async def serve(targets: list[PilotTarget], *, home: Path, company: str | None = None,
                transport: Literal["stdio", "http"] = "stdio", host: str = "127.0.0.1", port: int = 8765,
                allow_propose: list[str] | None = None, lang: str = "en") -> None:
    """Serve until the client closes stdio (stdio) or the process is stopped (HTTP)."""
    async with open_deployment(targets, home=home, company=company, stdio_propose=allow_propose) as dep:
        server = build_server(dep, http=transport == "http", port=port, lang=lang)
        applier = asyncio.create_task(apply_loop(dep), name="mcp-apply-decisions")
        try:
            if transport == "stdio":
                await server.run_stdio_async()
            else:
                await server.run_streamable_http_async(host=host, port=port)
        finally:
            applier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await applier
