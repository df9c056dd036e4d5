"""A fast fake OpenAI-compatible upstream for the side-by-side benchmark (one process, uvloop).

    python bench/fast_upstream.py --port 9100

A raw asyncio protocol (no framework) so it is never the bottleneck: keep-alive HTTP/1.1,
``Content-Length`` or chunked request bodies. ``POST …/chat/completions`` answers a fixed
``chat.completion`` (usage 24 prompt + 12 completion tokens), or, when the body asks for
``"stream": true``, a chunked ``text/event-stream``: a role chunk, 12 content chunks, a finish
chunk, a usage chunk (``choices: []``) and ``data: [DONE]``, written at once. Anything else
answers ``{}``. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

USAGE = {"prompt_tokens": 24, "completion_tokens": 12, "total_tokens": 36}
WORDS = ["Hello", " there", ",", " this", " is", " a", " fast", " fake", " upstream", " reply", ".", " Bye"]


def _completion() -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(WORDS)},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
        "system_fingerprint": "fp_bench",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _chunk(delta: dict[str, object], finish: str | None = None, usage: object = None, choices: bool = True) -> bytes:
    event: dict[str, object] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
    }
    if usage is not None:
        event["usage"] = usage
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def _stream_body() -> bytes:
    events = [_chunk({"role": "assistant", "content": ""})]
    events += [_chunk({"content": w}) for w in WORDS]
    events.append(_chunk({}, finish="stop"))
    events.append(_chunk({}, usage=USAGE, choices=False))
    events.append(b"data: [DONE]\n\n")
    out = bytearray()
    for e in events:  # one HTTP chunk per SSE event, as providers send them
        out += f"{len(e):x}\r\n".encode() + e + b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


COMPLETION = _completion()
PLAIN_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(COMPLETION)).encode()
    + b"\r\nConnection: keep-alive\r\n\r\n"
    + COMPLETION
)
STREAM_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n" + _stream_body()
)
EMPTY_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
MAX_BUFFER = 1 << 20


class Upstream(asyncio.Protocol):
    """One keep-alive connection: parse request heads and bodies, answer from pre-built bytes."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > MAX_BUFFER:
            assert self.transport is not None
            self.transport.close()
            return
        while self._one():
            pass

    def _one(self) -> bool:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buf[:end]).lower()
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            if line.startswith(b"content-length:"):
                length = int(line[15:])
            elif line.startswith(b"transfer-encoding:") and b"chunked" in line:
                chunked = True
        start = end + 4
        if chunked:
            body = bytearray()
            pos = start
            while True:
                eol = self.buf.find(b"\r\n", pos)
                if eol < 0:
                    return False
                size = int(bytes(self.buf[pos:eol]).split(b";")[0], 16)
                if len(self.buf) < eol + 2 + size + 2:
                    return False
                body += self.buf[eol + 2 : eol + 2 + size]
                pos = eol + 2 + size + 2
                if size == 0:
                    break
            consumed = pos
        else:
            if len(self.buf) < start + length:
                return False
            body = self.buf[start : start + length]
            consumed = start + length
        request_line = head.split(b"\r\n", 1)[0]
        compact = bytes(body).replace(b" ", b"")
        del self.buf[:consumed]
        assert self.transport is not None
        if request_line.startswith(b"post") and b"/chat/completions" in request_line:
            self.transport.write(STREAM_RESPONSE if b'"stream":true' in compact else PLAIN_RESPONSE)
        else:
            self.transport.write(EMPTY_RESPONSE)
        return True


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, host, port, backlog=4096, reuse_address=True)
    print(f"fast upstream on http://{host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
