"""The forward gateway's metering core: SSE framing, provider registry, API dialects.

Pure parsing, no I/O. The proxy picks a :class:`Provider` by host, a :class:`Dialect` by
path, and meters either a whole body (:meth:`Dialect.meter_body`) or a stream
(:meth:`Dialect.stream_meter` fed with :class:`SseEvent`\\ s from :class:`SseParser`).
"""

from .dialects import Dialect, PrepareResult, StreamMeter, select_dialect
from .providers import (
    ALLOWED_HOSTS,
    PROVIDERS,
    ApiFamily,
    ChatQuirks,
    KeyScheme,
    Provider,
    generic_provider,
    provider_for_host,
)
from .sse import SseEvent, SseParser
from .usage import Metered, ReportedUsage, SubCall, Usage

__all__ = [
    "ALLOWED_HOSTS",
    "PROVIDERS",
    "ApiFamily",
    "ChatQuirks",
    "Dialect",
    "KeyScheme",
    "Metered",
    "PrepareResult",
    "Provider",
    "ReportedUsage",
    "SseEvent",
    "SseParser",
    "StreamMeter",
    "SubCall",
    "Usage",
    "generic_provider",
    "provider_for_host",
    "select_dialect",
]
