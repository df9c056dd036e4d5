"""The running server's price source: the catalogue plus the operator's overrides file,
re-read when the file changes (``lava prices set`` edits it while the server runs).

The file's mtime is checked on every lookup (one ``stat``, about a microsecond), so a change
applies to the very next call."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from .pricing import ModelPrices, PriceSource


class LivePrices:
    def __init__(self, overrides_file: Path | None) -> None:
        self._path = overrides_file
        self._mtime: int | None = None
        self._source = PriceSource(None)
        self._reload_if_changed(force=True)

    def _reload_if_changed(self, force: bool = False) -> None:
        if self._path is None:
            return
        try:
            mtime = os.stat(self._path).st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime or force:
            self._source = PriceSource(self._path if mtime is not None else None)
            self._mtime = mtime

    def prices_for(self, provider_id: str | None, model: str | None, at: datetime) -> ModelPrices | None:
        if not provider_id or not model:
            return None
        self._reload_if_changed()
        return self._source.prices_for(provider_id, model, at)

    @property
    def source(self) -> PriceSource:
        self._reload_if_changed()
        return self._source
