"""The dashboard's token check: an ASGI middleware in front of every route.

With a token, a request passes with ``Authorization: Bearer <token>``, the cookie a
page load with ``?token=<token>`` set (HttpOnly, SameSite=Strict, so the page's own
fetches carry it and no other site's do), or ``?token=`` itself. Anything else gets a
401 JSON error. Tokens are compared in constant time.
"""

from __future__ import annotations

import json
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

__all__ = ["COOKIE_NAME", "TokenGate"]

COOKIE_NAME = "tunesmith_token"

Scope = dict[str, Any]
ASGIApp = Any


class TokenGate:
    """Refuse every HTTP request without the token (``token`` None: let everything through)."""

    def __init__(self, app: ASGIApp, token: str | None, cookie_path: str = "/") -> None:
        self.app = app
        self.token = token
        self.cookie_path = cookie_path or "/"

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.token is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from_query = self._query_token(scope)
        if from_query is not None and self._matches(from_query):
            await self.app(scope, receive, self._setting_cookie(send))
            return
        if self._matches(self._header_token(scope)) or self._matches(self._cookie_token(scope)):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "a valid token is needed: open the URL the server printed, or send "
                                    "'Authorization: Bearer <token>'"}).encode()
        await send({
            "type": "http.response.start", "status": 401,
            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                        (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})

    def _matches(self, given: str | None) -> bool:
        assert self.token is not None
        return given is not None and secrets.compare_digest(given.encode(), self.token.encode())

    @staticmethod
    def _query_token(scope: Scope) -> str | None:
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        return values[-1] if values else None

    @staticmethod
    def _headers(scope: Scope, name: bytes) -> list[str]:
        return [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name]

    def _header_token(self, scope: Scope) -> str | None:
        for value in self._headers(scope, b"authorization"):
            scheme, _, credentials = value.partition(" ")
            if scheme.lower() == "bearer":
                return credentials.strip()
        return None

    def _cookie_token(self, scope: Scope) -> str | None:
        for value in self._headers(scope, b"cookie"):
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value)
            except Exception:  # a malformed cookie header: no token there
                continue
            if COOKIE_NAME in jar:
                return jar[COOKIE_NAME].value
        return None

    def _setting_cookie(self, send: Any) -> Any:
        assert self.token is not None
        cookie = f"{COOKIE_NAME}={self.token}; Path={self.cookie_path}; HttpOnly; SameSite=Strict".encode()

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        return send_with_cookie
