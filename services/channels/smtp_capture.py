"""An in-memory SMTP server (aiosmtpd) on loopback, for tests and the demo.

    async with SmtpCapture() as capture:
        ... send to capture.hostname:capture.port ...
        capture.messages[0].attempt_id

``data_delay_s`` stores the message first and then delays the "250 OK": the client sees a
timeout after its message arrived, the case an SMTP adapter must report as OUTCOME_UNKNOWN.
``tls_context`` makes it a submission server, as production relays are: STARTTLS before
anything else, and with ``logins`` (user -> password) AUTH before any mail.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["CapturedMessage", "SmtpCapture"]

ATTEMPT_HEADER = "X-Parley-Attempt"


@dataclass(frozen=True, slots=True)
class CapturedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def attempt_id(self) -> str | None:
        value = self.message[ATTEMPT_HEADER]
        return None if value is None else str(value)

    @property
    def headers(self) -> dict[str, str]:
        return {name: str(value) for name, value in self.message.items()}


class _Handler:
    def __init__(self, capture: SmtpCapture) -> None:
        self._capture = capture

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook name)
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self._capture.record(
            CapturedMessage(str(envelope.mail_from), tuple(envelope.rcpt_tos), parsed)
        )
        if self._capture.data_delay_s:
            await asyncio.sleep(self._capture.data_delay_s)
        return "250 Message accepted for delivery"


class _Logins:
    """aiosmtpd's authenticator: a known user with the right password, and nothing else."""

    def __init__(self, logins: Mapping[str, str]) -> None:
        self._logins = dict(logins)
        self.failed = 0

    def __call__(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if user in self._logins and self._logins[user] == password:
                return AuthResult(success=True)
        self.failed += 1
        return AuthResult(success=False, handled=False)


class _BoundController(Controller):
    """A Controller serving on a socket we bound ourselves, so port 0 yields a real free port."""

    def __init__(self, handler: _Handler, sock: socket.socket, **smtp: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **smtp)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class SmtpCapture:
    """Captures every message sent to it. aiosmtpd runs in its own thread and loop, so a slow
    handler never blocks the caller's event loop."""

    def __init__(
        self,
        *,
        hostname: str = "127.0.0.1",
        port: int = 0,
        data_delay_s: float = 0,
        tls_context: ssl.SSLContext | None = None,
        logins: Mapping[str, str] | None = None,
    ) -> None:
        self._bind = (hostname, port)
        self.data_delay_s = data_delay_s
        self._tls = tls_context
        self.logins = _Logins(logins) if logins is not None else None
        self.messages: list[CapturedMessage] = []
        self.per_attempt: Counter[str] = Counter()
        self._controller: _BoundController | None = None
        self.hostname = hostname
        self.port = port

    def record(self, captured: CapturedMessage) -> None:
        self.messages.append(captured)
        if captured.attempt_id:
            self.per_attempt[captured.attempt_id] += 1

    def count(self, attempt_id: str) -> int:
        return self.per_attempt[attempt_id]

    async def wait_for(self, count: int, timeout_s: float = 5.0) -> None:
        """Wait until at least ``count`` messages have arrived."""
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} messages, have {len(self.messages)}")
            await asyncio.sleep(0.01)

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self._bind)
        self.hostname, self.port = sock.getsockname()[:2]
        smtp: dict[str, Any] = {}
        if self._tls is not None:
            smtp.update(tls_context=self._tls, require_starttls=True)
        if self.logins is not None:
            smtp.update(authenticator=self.logins, auth_required=True)
        self._controller = _BoundController(_Handler(self), sock, **smtp)
        # Controller.start blocks until its thread serves; keep the caller's loop free.
        await asyncio.to_thread(self._controller.start)

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)
            self._controller = None

    async def __aenter__(self) -> SmtpCapture:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
