"""The neutral chat representation every format translates to and from.

A request in a client format is decoded into :class:`ChatRequest`, encoded into the
provider's format, and the provider's answer comes back as :class:`ChatResponse` (or as a
sequence of :data:`StreamEvent`) before being encoded into the client's format. Formats
never talk to each other directly, so a new format is one module (see ``__init__``).

Usage travels as :class:`TokenUsage`, in *normalised* meaning (the same as
:class:`~lava_server.gateway.usage.Usage`): ``input_tokens`` counts every input token
(uncached, cache reads and cache writes), ``output_tokens`` every output token (reasoning
included); the other fields are parts of those totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "BlockKind",
    "BlockStart",
    "BlockStop",
    "ChatRequest",
    "ChatResponse",
    "Choice",
    "Delta",
    "DeltaKind",
    "Effort",
    "ErrorKind",
    "Finish",
    "FinishReason",
    "IdMap",
    "Image",
    "Message",
    "Part",
    "Reasoning",
    "ResponseFormat",
    "StreamError",
    "StreamEvent",
    "StreamStart",
    "Text",
    "Thinking",
    "TokenUsage",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "ToolResult",
    "UpstreamError",
    "UsageUpdate",
]

FinishReason = Literal["stop", "stop_sequence", "length", "tool_calls", "content_filter", "pause", "error", "other"]
"""Why generation ended, in the union of the formats' vocabularies."""

ErrorKind = Literal[
    "invalid_request",
    "authentication",
    "permission",
    "not_found",
    "request_too_large",
    "rate_limit",
    "overloaded",
    "server",
]


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Normalised usage: parts (cached, cache writes, reasoning) are inside their totals."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def uncached_input_tokens(self) -> int:
        """Input that was neither read from nor written to a cache (Anthropic's ``input_tokens``)."""
        return max(self.input_tokens - self.cached_input_tokens - self.cache_write_tokens, 0)

    @property
    def visible_output_tokens(self) -> int:
        """Output without reasoning (Gemini's ``candidatesTokenCount``)."""
        return max(self.output_tokens - self.reasoning_tokens, 0)


# -- content parts --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Image:
    """An image given inline (``data``: base64, with ``media_type``) or by ``url``."""

    media_type: str | None
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call by the model; ``arguments`` is JSON text (an object)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The caller's answer to :class:`ToolCall` ``call_id``; ``content`` is text or text and images."""

    call_id: str
    name: str | None
    content: tuple[Text | Image, ...]
    is_error: bool = False

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, Text))


@dataclass(frozen=True, slots=True)
class Thinking:
    """Reasoning the model showed; ``signature`` lets Anthropic verify it when sent back."""

    text: str
    signature: str | None = None


Part = Text | Image | ToolCall | ToolResult | Thinking


@dataclass(frozen=True, slots=True)
class Message:
    role: Literal["user", "assistant"]
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str | None
    parameters: dict[str, Any]
    """A JSON Schema object."""


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """``auto``: the model decides; ``none``: no tool; ``required``: some tool; ``tool``: ``name``."""

    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None
    parallel: bool = True


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """``json``: any JSON object; ``json_schema``: one matching ``schema``."""

    mode: Literal["json", "json_schema"]
    schema: dict[str, Any] | None = None
    name: str | None = None


Effort = Literal["minimal", "low", "medium", "high"]


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Extended thinking asked for, as an effort level, a token budget, or both."""

    effort: Effort | None = None
    budget_tokens: int | None = None
    include_thoughts: bool = True


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat request in no particular format. ``None`` means "not given"."""

    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    n: int | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_format: ResponseFormat | None = None
    reasoning: Reasoning | None = None
    stream: bool = False
    stream_usage: bool = False
    """The client asked for a final usage event (OpenAI ``stream_options.include_usage``)."""


# -- responses ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    parts: tuple[Text | Thinking | ToolCall, ...]
    finish: FinishReason | None
    stop_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class ChatResponse:
    id: str
    model: str
    choices: tuple[Choice, ...]
    usage: TokenUsage | None
    created: int | None = None


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """A provider's error, format-free: re-encoded in the client's error shape."""

    status: int
    kind: ErrorKind
    message: str


# -- stream events --------------------------------------------------------------------

BlockKind = Literal["text", "thinking", "tool_call"]
DeltaKind = Literal["text", "thinking", "signature", "arguments"]


@dataclass(frozen=True, slots=True)
class StreamStart:
    id: str
    model: str


@dataclass(frozen=True, slots=True)
class BlockStart:
    """A content block opens; blocks are numbered from 0 in the order they open."""

    index: int
    kind: BlockKind
    call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Delta:
    index: int
    kind: DeltaKind
    text: str


@dataclass(frozen=True, slots=True)
class BlockStop:
    index: int


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason
    stop_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class UsageUpdate:
    """The usage so far; cumulative, the last one wins."""

    usage: TokenUsage


@dataclass(frozen=True, slots=True)
class StreamError:
    kind: ErrorKind
    message: str


StreamEvent = StreamStart | BlockStart | Delta | BlockStop | Finish | UsageUpdate | StreamError


@dataclass(slots=True)
class IdMap:
    """Tool-call ids for formats without them (Gemini): ``call_<n>`` in order of appearance."""

    prefix: str = "call_"
    issued: list[tuple[str, str]] = field(default_factory=list)

    def new(self, name: str) -> str:
        call_id = f"{self.prefix}{len(self.issued)}"
        self.issued.append((call_id, name))
        return call_id
