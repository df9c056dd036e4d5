"""Make the fake-upstream fixtures available to the tests in this directory."""

from tests.fakes.fixtures import (  # noqa: F401
    fake_server,
    fake_upstream,
    fake_upstream_factory,
    fake_upstream_shared,
    replay_upstream,
)
