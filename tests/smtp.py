"""A real SMTP server (aiosmtpd) on loopback for tests: it keeps every message, and can
be told to refuse them for a while."""
import asyncio
import email
import socket
from email import policy

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, smtp_server, session, envelope):
        if self.server.refusing:
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.server.messages.append(message)
        if self.server.delay:
            await asyncio.sleep(self.server.delay)  # a slow server: accepted, answer still to come
        return "250 OK"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    def __init__(self):
        self.port = _free_port()
        self.messages = []
        self.refusing = False
        self.delay = 0.0
        self._controller = None

    def start(self):
        """Listen (again) on the same port, as a restarted mail server would."""
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def text(message):
        return message.get_body(preferencelist=("plain",)).get_content()
