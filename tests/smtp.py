"""A real SMTP server on a free loopback port (aiosmtpd in a thread) that keeps what it accepts and
can refuse the first messages with a temporary error, as a busy or greylisting server does."""

import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.processes import free_port


@dataclass
class Mailbox:
    """The aiosmtpd handler: refuses the first `refusals` messages with `refusal`, keeps the rest."""

    refusals: int = 0
    refusal: str = "451 4.3.0 Try again later"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.refused < self.refusals:
                self.refused += 1
                return self.refusal
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 2.0.0 Accepted"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@contextmanager
def smtp_server(*, refusals: int = 0, refusal: str = "451 4.3.0 Try again later") -> Iterator[Mailbox]:
    mailbox = Mailbox(refusals=refusals, refusal=refusal, port=free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies of a received multipart/alternative mail."""
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None, "expected a plain-text and an HTML part"
    return plain.get_content(), html.get_content()
