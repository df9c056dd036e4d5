"""The smtp one-time-code sender delivers a real SMTP conversation (to a tiny local server)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from lava_server.checkout.config import CheckoutSettings
from lava_server.checkout.otp import SmtpSender, make_sender


class MiniSmtp:
    """Just enough of RFC 5321 to accept one message."""

    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mini ESMTP\r\n")
        envelope: dict[str, object] = {"rcpt": []}
        while line := await reader.readline():
            verb = line.decode().strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                writer.write(b"250 mini\r\n")
            elif verb == "MAIL":
                envelope["from"] = line.decode().strip()
                writer.write(b"250 ok\r\n")
            elif verb == "RCPT":
                envelope["rcpt"].append(line.decode().strip())  # type: ignore[union-attr]
                writer.write(b"250 ok\r\n")
            elif verb == "DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                data = await reader.readuntil(b"\r\n.\r\n")
                envelope["data"] = data.decode()
                self.messages.append(envelope)
                envelope = {"rcpt": []}
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()


async def test_smtp_sender_delivers_the_code() -> None:
    smtp = MiniSmtp()
    server = await asyncio.start_server(smtp.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = replace(
            CheckoutSettings(),
            otp_sender="smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_from="Lava checkout <codes@pay.example>",
        )
        sender = make_sender(settings)
        assert isinstance(sender, SmtpSender)
        await sender.send("ada@example.com", "493017", "Acme AI")
    finally:
        server.close()
        await server.wait_closed()
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert "ada@example.com" in str(message["rcpt"])
    assert "codes@pay.example" in str(message["from"])
    data = str(message["data"])
    assert "Subject: 493017 is your Acme AI checkout code" in data
    assert "Your checkout code is 493017." in data
