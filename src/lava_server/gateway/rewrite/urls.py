"""``/v1/rewrite/{format}/{providerUrl}``: the provider URL, the provider's format, the client's suffix.

Rules (docs/gateway.md "Rewrite"):

- The provider URL is written like forward's ``u=``: with a scheme (``https://host/path``,
  raw or percent-encoded; a ``https:/`` whose ``//`` a proxy merged is repaired) or without
  one (``host/path``).
- The provider's format follows from the host: ``api.anthropic.com`` → anthropic;
  ``generativelanguage.googleapis.com`` → google, except ``/v1beta/openai`` paths (openai);
  ``bedrock-runtime.*.amazonaws.com`` → bedrock; any other host → openai-compatible.
- Official SDKs given the rewrite URL as their base URL append their own endpoint
  (``/chat/completions``, ``/v1/messages``, ``/v1beta/models/{m}:generateContent``,
  ``/model/{id}/converse``). That suffix is stripped when what remains is an endpoint of the
  provider's format, kept when the whole path already is one (Node's ``gateway(url,
  {format})`` sends the provider URL raw), and otherwise stripped and the remaining path
  taken as the provider's base, which the provider's codec completes.
- Google and Bedrock clients name the model (and streaming) in that suffix: it is parsed
  into :class:`ClientRoute`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

from .base import ClientRoute, Format

__all__ = ["RewritePath", "parse_rewrite_path", "provider_format"]

_SUFFIXES: Final[dict[Format, tuple[re.Pattern[str], ...]]] = {
    "openai": (re.compile(r"/v1/chat/completions/?$"), re.compile(r"/chat/completions/?$")),
    "anthropic": (re.compile(r"/v1/messages/?$"), re.compile(r"/messages/?$")),
    "google": (
        re.compile(
            r"/(?:v1beta|v1alpha|v1)/(?:tuned)?models/(?P<model>[^/:]+):(?P<method>streamGenerateContent|generateContent)$"
        ),
    ),
    "bedrock": (re.compile(r"/model/(?P<model>[^/]+)/(?P<method>converse-stream|converse)$"),),
}
_ENDPOINTS: Final[dict[Format, re.Pattern[str]]] = {
    "openai": re.compile(r"/chat/completions$"),
    "anthropic": re.compile(r"/messages$"),
    "google": re.compile(r"/(?:tuned)?[mM]odels/[^/:]+:(?:stream)?[gG]enerateContent$"),
    "bedrock": re.compile(r"/model/[^/]+/(?:converse|converse-stream)$"),
}
_BEDROCK_HOST = re.compile(r"bedrock-runtime(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com")


def provider_format(host: str, path: str) -> Format:
    """The format the provider at ``host`` speaks for ``path``."""
    if host == "api.anthropic.com":
        return "anthropic"
    if host == "generativelanguage.googleapis.com":
        return "openai" if re.search(r"/v1(?:beta)?/openai(?:/|$)", path) else "google"
    if _BEDROCK_HOST.fullmatch(host):
        return "bedrock"
    return "openai"


@dataclass(frozen=True, slots=True)
class RewritePath:
    """What the rewrite URL says: where to go and what the client's own suffix named."""

    host: str
    path: str
    """The provider path: a full endpoint, or a base the provider's codec completes."""
    provider: Format
    client: ClientRoute
    is_endpoint: bool
    """``path`` already names an endpoint of ``provider``."""

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"


def _provider_url(raw: str) -> str:
    """The provider URL from the raw path segment: decoded once, scheme repaired or added."""
    text = unquote(raw) if raw[:10].lower().startswith(("https%3a", "http%3a")) else raw
    lowered = text.lower()
    if lowered.startswith(("https://", "http://")):
        return text
    if lowered.startswith(("https:/", "http:/")):
        return text.replace(":/", "://", 1)  # a proxy merged the '//' after the scheme
    return "https://" + text.lstrip("/")


def parse_rewrite_path(client: Format, raw: str, query: str) -> RewritePath:
    """Split ``raw`` (the path after ``/v1/rewrite/{client}/``) into provider URL and client suffix.

    Raises ``ValueError`` for a URL that is not https or has no host.
    """
    url = _provider_url(raw)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("the provider URL must be an https:// URL with a host")
    host = parts.hostname.lower().rstrip(".")
    full = parts.path or ""
    fmt = provider_format(host, full)
    endpoint = _ENDPOINTS[fmt]
    matches = [m for m in (p.search(full) for p in _SUFFIXES[client]) if m is not None]
    chosen = next((m for m in matches if endpoint.search(full[: m.start()])), None)
    if chosen is not None:
        path, is_endpoint = full[: chosen.start()], True
    elif endpoint.search(full.rstrip("/")):
        path, is_endpoint, chosen = full.rstrip("/"), True, None
        if client in ("google", "bedrock"):
            chosen = matches[0] if matches else None  # the model is still named by the suffix
    elif matches:
        chosen = matches[0]
        path, is_endpoint = full[: chosen.start()], False
    else:
        path, is_endpoint = full.rstrip("/"), False
    model = chosen.groupdict().get("model") if chosen is not None else None
    method = chosen.groupdict().get("method") if chosen is not None else None
    route = ClientRoute(
        model=unquote(model) if model else None,
        stream=method in ("streamGenerateContent", "converse-stream"),
        sse="alt=sse" in query.split("&"),
    )
    return RewritePath(host, path, fmt, route, is_endpoint)
