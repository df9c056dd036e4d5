"""Fields the gateway adds to a client's request, and recognising a provider that refuses them.

A dialect's ``prepare()`` may add fields the client did not send (today: OpenAI-style
``stream_options.include_usage``, so that a stream reports its usage). A valid client request
must never fail because of what we added. The rule, for every injected field:

* the provider registry says whether a provider accepts the field
  (:attr:`~.providers.Provider.accepts_stream_usage_option`; ``False`` → never injected,
  settable for any host with ``LAVA_NO_STREAM_USAGE_OPTION_HOSTS``);
* where it is not known to refuse, it is injected, and a 400/422 whose body names an injected
  field is retried once with the client's own body; that answer is relayed and metered from
  what it carries, or charged on the marked estimate.

Which fields were injected is computed by comparing the two bodies, so a new injection in any
dialect is covered without being declared here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["injected_fields", "names_injected"]

MIN_NAME = 3  # shorter key names ("n") would match any refusal text


def injected_fields(original: Mapping[str, Any], prepared: Mapping[str, Any], prefix: str = "") -> tuple[str, ...]:
    """Dotted paths of the fields ``prepared`` adds to or changes in ``original``
    (``("stream_options.include_usage",)``)."""
    found: list[str] = []
    for key, value in prepared.items():
        path = f"{prefix}{key}"
        before = original.get(key, _MISSING)
        if before is _MISSING:
            if isinstance(value, Mapping):
                found += injected_fields({}, value, path + ".") or (path,)
            else:
                found.append(path)
        elif isinstance(value, Mapping) and isinstance(before, Mapping):
            found += injected_fields(before, value, path + ".")
        elif before != value:
            found.append(path)
    return tuple(found)


def names_injected(refusal: bytes, fields: tuple[str, ...]) -> bool:
    """Whether a provider's refusal names one of ``fields`` (any of its dotted parts)."""
    text = refusal[:65536].decode("utf-8", "replace")
    for path in fields:
        for name in path.split("."):
            if len(name) >= MIN_NAME and re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text):
                return True
    return False


_MISSING = object()
