"""A minimal OpenID Connect provider on a loopback port, for login tests with no internet.

It serves what Streamlit's ``st.login`` (Authlib) uses: discovery, an authorize page with one
"Sign in as …" link per test identity, the token endpoint (authorization code with PKCE and a
client secret) and the signing keys. ID tokens are RS256-signed with a key made at start-up, so
the app checks a real signature, issuer, audience, expiry and nonce.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.live_app import free_port

CLIENT_ID = "memory-agent-tests"
CLIENT_SECRET = "not-a-real-secret"


class OIDCProvider:
    """``with OIDCProvider(identities) as provider:`` serves at ``provider.url`` until exit.

    ``identities`` maps each subject to the extra claims its ID token carries (email, name…).
    """

    def __init__(self, identities: Mapping[str, Mapping[str, Any]]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.identities = {sub: dict(claims) for sub, claims in identities.items()}
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens_issued = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OIDCProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def authorize_page(self, query: dict[str, str]) -> str:
        """One link per identity; following it approves the login as that identity."""
        links = "".join(
            f'<li><a href="/approve?{html.escape(urlencode({**query, "sub": sub}))}">'
            f"Sign in as {html.escape(sub)}</a></li>"
            for sub in self.identities
        )
        return f"<!doctype html><title>Test login</title><ul>{links}</ul>"

    def approve(self, query: dict[str, str]) -> str:
        """A one-time code for the chosen identity; returns where to send the browser."""
        if query.get("client_id") != CLIENT_ID or query.get("sub") not in self.identities:
            raise ValueError("unknown client or identity")
        code = secrets.token_urlsafe(16)
        self.codes[code] = query
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """Exchange a code for tokens, checking the client, redirect URI and PKCE verifier."""
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            client_id, _, client_secret = (
                base64.b64decode(authorization[6:]).decode().partition(":")
            )
        request = self.codes.pop(form.get("code", ""), None)
        if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET) or request is None:
            raise ValueError("invalid client or code")
        if form.get("redirect_uri") != request["redirect_uri"]:
            raise ValueError("redirect_uri differs from the authorize request's")
        if request.get("code_challenge"):
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != request["code_challenge"]:
                raise ValueError("PKCE verifier does not match")
        now = int(time.time())
        claims = {
            **self.identities[request["sub"]],
            "iss": self.url,
            "sub": request["sub"],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "nonce": request.get("nonce"),
        }
        header = {"alg": "RS256", "kid": "test-key"}
        self.tokens_issued += 1
        return {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 600,
            "id_token": jwt.encode(header, claims, self.key),
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, body: str, kind: str, headers: dict | None = None) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/.well-known/openid-configuration":
                    self._send(200, json.dumps(provider.metadata()), "application/json")
                elif parts.path == "/jwks":
                    keys = {"keys": [provider.key.as_dict(private=False)]}
                    self._send(200, json.dumps(keys), "application/json")
                elif parts.path == "/authorize":
                    self._send(200, provider.authorize_page(query), "text/html")
                elif parts.path == "/approve":
                    try:
                        location = provider.approve(query)
                    except (KeyError, ValueError) as error:
                        self._send(400, str(error), "text/plain")
                        return
                    self._send(302, "", "text/plain", {"Location": location})
                else:
                    self._send(404, "not found", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path != "/token":
                    self._send(404, "not found", "text/plain")
                    return
                try:
                    tokens = provider.token(form, self.headers.get("Authorization"))
                except ValueError as error:
                    body = json.dumps({"error": "invalid_grant", "error_description": str(error)})
                    self._send(400, body, "application/json")
                    return
                self._send(200, json.dumps(tokens), "application/json")

        return Handler
