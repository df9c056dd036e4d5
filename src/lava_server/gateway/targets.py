"""The forward target: ``u=`` parsing, path normalisation, the host allowlist and the upstream map.

Rules (docs/design.md "Compatibility" and "Security"; docs/gateway.md "Target"):
- ``u`` is taken from the raw query string, raw or URL-encoded (decoded once). Any other
  query parameters, except our reserved ``metadata`` and ``key``, belong to the upstream.
- ``…/v1/v1/…`` (Anthropic SDKs) collapses to ``…/v1/…``; ``…/v1chat/completions``
  (openai-python) becomes ``…/v1/chat/completions`` — only where a known provider base
  path runs straight into a known endpoint name.
- Only https URLs whose host is exactly an allow-listed provider host (or an operator-added
  one) are accepted; no user-info, no non-default port. A host in the upstream map is sent to
  its mapped base URL instead; that is also the only way to reach a private address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from ..errors import ApiError
from .providers import Provider, generic_provider, provider_for_host

RESERVED_PARAMS = frozenset({"u", "metadata", "key"})
HOST_RE = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
MAX_TARGET_LENGTH = 8192
ENDPOINT_NAMES = (
    "chat/completions",
    "completions",
    "responses",
    "embeddings",
    "audio/",
    "images/",
    "messages",
    "models",
    "moderations",
    "files",
    "batches",
    "text-to-speech/",
)


@dataclass(frozen=True)
class Target:
    provider: Provider
    url: str  # the canonical provider URL (https://host/path?query): what `endpoint` records
    upstream_url: str  # where we actually connect (differs when the host is mapped)
    host: str
    path: str
    query: str
    key_param: str | None  # the value of a reserved ?key= parameter, if any
    metadata_param: str | None


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_forward_target", message)


def split_forward_query(raw_query: str) -> tuple[str | None, list[str], str | None, str | None]:
    """(u, other raw params, key, metadata) from the raw query string, without decoding other params."""
    u: str | None = None
    key: str | None = None
    metadata: str | None = None
    others: list[str] = []
    parts = raw_query.split("&") if raw_query else []
    # google-genai appends its own "?alt=sse" to a base URL that already has a query:
    # "alt=sse?u=https://…" — a second '?' before our u= starts a new parameter.
    for j, part in enumerate(parts):
        if not part.startswith("u=") and "?u=" in part:
            head, _, tail = part.partition("?")
            parts[j : j + 1] = [head, tail]
            break
    i = 0
    while i < len(parts):
        part = parts[i]
        name, _, value = part.partition("=")
        if name == "u" and u is None:
            u = value
            # A raw (unencoded) u may itself contain '&' in its own query: keep those params
            # with u until the next parameter that is one of ours.
            if "?" in value:
                while i + 1 < len(parts) and parts[i + 1].partition("=")[0] not in RESERVED_PARAMS:
                    i += 1
                    u += "&" + parts[i]
        elif name == "key" and key is None:
            key = unquote(value)
        elif name == "metadata" and metadata is None:
            metadata = unquote(value)
        elif part:
            others.append(part)
        i += 1
    return u, others, key, metadata


def _decode_u(value: str) -> str:
    lowered = value[:10].lower()
    if lowered.startswith(("http%3a", "https%3a")):
        return unquote(value)
    return value


def normalise_path(path: str, provider: Provider) -> str:
    for base in sorted((provider.base_path, *provider.extra_base_paths), key=len, reverse=True):
        if not base:
            continue
        doubled = base + base
        if path.startswith(doubled + "/") or path == doubled:
            path = base + path[len(doubled) :]
        if path.startswith(base) and len(path) > len(base) and path[len(base)] != "/":
            rest = path[len(base) :]
            if any(rest.startswith(name) for name in ENDPOINT_NAMES):
                path = base + "/" + rest
    # Anthropic-style doubling of a bare version for operator-added providers too.
    if path.startswith("/v1/v1/"):
        path = path[3:]
    return path


def resolve_target(
    raw_query: str,
    *,
    upstream_map: Mapping[str, str],
    extra_hosts: frozenset[str] | tuple[str, ...] = (),
    raw_suffix: str = "",
) -> Target:
    """``raw_suffix`` is the raw request path after ``/v1/forward/``. It carries either the whole
    target (``/v1/forward/https://host/path``, the ``base_url_for("google")`` style) or, when ``u``
    names only the provider root, the endpoint path an SDK joined onto the URL path
    (google-genai given ``/v1/forward?u=https://generativelanguage.googleapis.com``)."""
    u, others, key, metadata = split_forward_query(raw_query)
    suffix = raw_suffix.lstrip("/")
    if suffix.lower().startswith(("https:/", "http:/", "https%3a", "http%3a")):
        if u is not None:
            others.insert(0, f"u={u}")  # not ours in this style: it belongs to the upstream
        u = _decode_u(suffix)
        if u.lower().startswith(("https:/", "http:/")) and not u.lower().startswith(("https://", "http://")):
            u = u.replace(":/", "://", 1)  # a proxy merged the '//' after the scheme
    elif suffix and u:
        root, sep, query = _decode_u(u).partition("?")
        u = root.rstrip("/") + "/" + suffix + sep + query
    if not u:
        raise _bad("missing u= query parameter: /v1/forward?u=https://api.openai.com/v1/chat/completions")
    if len(u) > MAX_TARGET_LENGTH:
        raise _bad(f"u is longer than {MAX_TARGET_LENGTH} characters")
    target = _decode_u(u)
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError as exc:
        raise _bad("u is not a valid URL") from exc
    # A trailing dot names the same host; without stripping it "api.openai.com." would match the
    # allowlist but miss the upstream map (bypassing an operator's egress mapping).
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https":
        raise _bad("u must be an https:// provider URL")
    if not host:
        raise _bad("u has no host")
    if not HOST_RE.fullmatch(host):  # exact match means exact: no spaces, no exotic characters
        if ":" in host:  # an IPv6 literal: never an allow-listed provider
            raise ApiError(403, "upstream_not_allowed", f"{host!r} is not an allow-listed provider host")
        raise _bad("u has an invalid host name")
    if parts.username or parts.password:
        raise _bad("u must not contain credentials")
    if port not in (None, 443):
        raise _bad("u must use the provider's default https port")
    provider = provider_for_host(host)
    if provider is None:
        if host in extra_hosts or host in upstream_map:
            provider = generic_provider(host)
        else:
            raise ApiError(
                403,
                "upstream_not_allowed",
                f"{host!r} is not an allow-listed provider host; operators can add hosts (docs/gateway.md)",
            )
    if any(segment in (".", "..") for segment in unquote(parts.path or "/").split("/")):
        # yarl would resolve them and could step out of an operator's mapped base path.
        raise _bad("u must not contain '.' or '..' path segments")
    path = normalise_path(parts.path or "/", provider)
    query_parts: list[str] = []
    for part in [p for p in parts.query.split("&") if p] + others:
        name, _, value = part.partition("=")
        if name == "key":  # a credential: never forwarded in the URL (the provider key goes in a header)
            key = key if key is not None else unquote(value)
            continue
        query_parts.append(part)
    query = "&".join(query_parts)
    canonical = f"https://{host}{quote(path, safe='/:@%+,;=-._~!$*()')}"
    suffix = f"?{query}" if query else ""
    mapped = upstream_map.get(host)
    upstream = (mapped.rstrip("/") + canonical[len(f"https://{host}") :] if mapped else canonical) + suffix
    return Target(provider, canonical + suffix, upstream, host, path, query, key, metadata)
