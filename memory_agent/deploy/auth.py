"""Who may call the deployed agent: LangGraph Server's own auth handler, with a shared token.

``langgraph.json`` names ``auth`` below, so the server runs it before every request (threads,
runs, state, history, the store). With ``MEMORY_AGENT_SERVER_TOKEN`` set on the server, every
caller must send ``Authorization: Bearer <token>`` or ``x-api-key: <token>`` (what the LangGraph
JS SDK, and so agent-chat-ui's "API key" field, sends); the app does (``client_headers``) when
the same variable is set where it runs. Without a token only this machine may call (loopback), so a
server started without one is not open to the network by mistake — and not to a web page either:
a browser on this machine is a loopback caller too, and the server answers any origin (CORS
``*``), so without a token a request that carries a foreign ``Origin`` is refused.

Login in the Streamlit app does not reach here: the app is the one caller, and it separates users
by the user id it sends with each run. Anyone holding the token can act as any user.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from urllib.parse import urlsplit

from langgraph_sdk import Auth
from starlette.requests import Request

TOKEN_ENV = "MEMORY_AGENT_SERVER_TOKEN"
APP_IDENTITY = "memory-agent-app"
"""The identity the server records for authenticated callers (runs show it as the user)."""

auth = Auth()


def server_token() -> str | None:
    """The shared token, from the environment (empty means none)."""
    return os.environ.get(TOKEN_ENV) or None


def client_headers() -> dict[str, str]:
    """The header the app's LangGraph client sends, when a token is set."""
    token = server_token()
    return {"Authorization": f"Bearer {token}"} if token else {}


def is_loopback(request: Request) -> bool:
    """Whether the caller is on this machine (127.0.0.0/8 or ::1)."""
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a unix socket or a name: not provably local
        return False


def is_foreign_page(request: Request) -> bool:
    """Whether a web page from another site sent the request (its ``Origin`` is not this machine).

    Programs (the app, the SDK, curl) send no ``Origin``; a browser always does on such requests.
    """
    headers = getattr(request, "headers", None) or {}
    origin = headers.get("origin")
    if not origin:
        return False
    host = urlsplit(origin).hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, or "null" (a sandboxed page or a file)
        return True


@auth.authenticate
async def authenticate(authorization: str | None, request: Request) -> Auth.types.MinimalUserDict:
    """Accept the shared token (compared in constant time), or a local caller when none is set."""
    token = server_token()
    if token is None:
        if is_loopback(request) and not is_foreign_page(request):
            return {"identity": APP_IDENTITY}
        raise Auth.exceptions.HTTPException(
            status_code=401,
            detail=f"This agent answers only its own machine until {TOKEN_ENV} is set.",
        )
    headers = getattr(request, "headers", None) or {}
    offered = [(authorization, f"Bearer {token}"), (headers.get("x-api-key"), token)]
    if any(sent and hmac.compare_digest(sent.encode(), want.encode()) for sent, want in offered):
        return {"identity": APP_IDENTITY}
    raise Auth.exceptions.HTTPException(
        status_code=401, detail=f"Send Authorization: Bearer <{TOKEN_ENV}>, or x-api-key."
    )
