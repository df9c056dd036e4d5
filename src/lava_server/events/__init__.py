"""Webhooks: endpoints, signing, payload rendering and the durable delivery worker.

The outbox itself lives in ``store/outbox.py`` so that billing can write events in its own
transactions; this package sits above the gateway (it reuses the SSRF-safe resolver) and is
used only by the HTTP edge, the CLI and the app's start-up.
"""
