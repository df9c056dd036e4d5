"""Fake provider upstreams (OpenAI, Anthropic, Gemini) and a replay upstream for tests/benchmarks.

from tests.fakes import make_fake_app, make_replay_app, expected_usage, run_in_thread, serve_app
"""

from .providers import make_fake_app
from .replay import load_manifest, make_replay_app
from .server import run_in_thread, serve_app, serve_in_thread, start_in_thread
from .usage import expected_raw_usage, expected_usage

__all__ = [
    "expected_raw_usage",
    "expected_usage",
    "load_manifest",
    "make_fake_app",
    "make_replay_app",
    "run_in_thread",
    "serve_app",
    "serve_in_thread",
    "start_in_thread",
]
