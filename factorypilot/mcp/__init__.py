"""A governed MCP server: any AI assistant can look at the plant and propose — only a named person approves.

    factorypilot mcp --pilot mobility --simulate                       # stdio, read-only, local user
    factorypilot mcp token create --company acme --scope read          # a bearer token for HTTP
    factorypilot mcp --pilot mobility --company acme --transport http --port 8765

Built on the official ``mcp`` SDK. Proposals go through the pilot's own safety guard and wait for
``factorypilot runs approve``; there is no approve tool. See docs/mcp.md.
"""

from factorypilot.mcp._deployment import Deployment, PilotTarget, open_deployment
from factorypilot.mcp._identity import Caller, TokenVerifier
from factorypilot.mcp._serve import Listen, serve
from factorypilot.mcp._server import TOOL_NAMES, build_server
from factorypilot.mcp._tokens import TokenInfo, TokenStore

__all__ = ["TOOL_NAMES", "Caller", "Deployment", "Listen", "PilotTarget", "TokenInfo", "TokenStore", "TokenVerifier",
           "build_server", "open_deployment", "serve"]
