"""Run localstripe bound to loopback only (its CLI binds every interface), without its disk pickle."""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from localstripe.resources import Store
from localstripe.server import app

Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]  # no shared /tmp pickle, faster writes

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=logging.getLogger("aiohttp.access"))
