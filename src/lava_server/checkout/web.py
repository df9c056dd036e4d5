"""Mounts the hosted checkout (pages, static helper, processor webhooks) on the application."""

from __future__ import annotations

from aiohttp import web

from ..context import Services


def setup(app: web.Application, svc: Services) -> None:
    """Add checkout routes and any start-up/clean-up hooks they need."""
