"""The guard that keeps the suite self-contained really sees reads outside the checkout."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.standalone import FORBIDDEN_ENV, OutsideReads

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_open_beside_the_checkout_is_recorded(tmp_path: Path) -> None:
    repo = tmp_path / "lava"
    shared = tmp_path / "shared" / "provider-samples"
    (repo / "tests").mkdir(parents=True)
    shared.mkdir(parents=True)
    (shared / "manifest.jsonl").write_text("{}\n")
    (repo / "tests" / "x.json").write_text("{}")
    guard = OutsideReads(repo, [tmp_path])
    guard("open", (str(shared / "manifest.jsonl"), "r", 0))
    guard("open", (os.fsencode(repo / ".." / "shared" / "provider-samples" / "manifest.jsonl"), "rb", 0))
    guard("os.listdir", (shared,))
    guard("open", (str(repo / "tests" / "x.json"), "r", 0))
    guard("open", (3, "r", 0))  # a file descriptor, not a path
    guard("socket.connect", (str(shared),))  # not a file read
    assert guard.take() == [str(shared / "manifest.jsonl"), str(shared)]
    assert guard.take() == []
    guard.active = False
    guard("open", (str(shared / "manifest.jsonl"), "r", 0))
    assert guard.seen == []


def test_allowed_prefixes_and_other_places_are_not_recorded(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    guard = OutsideReads(tmp_path / "lava", [tmp_path], [venv])
    guard("open", (str(venv / "lib" / "site.py"), "r", 0))
    guard("open", ("/etc/hosts", "r", 0))
    assert guard.seen == []


def test_default_policy_forbids_the_checkouts_parent_and_env_roots(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(FORBIDDEN_ENV, str(tmp_path))
    guard = OutsideReads.for_checkout(REPO_ROOT)
    assert guard.forbidden == (str(REPO_ROOT.parent), str(tmp_path))
    tmp = os.path.normpath(tempfile.gettempdir())
    beside_tmp = str(REPO_ROOT.parent) == tmp  # a checkout directly in /tmp is not guarded
    # No allowed prefix holds the checkout (else it would allow the guarded parent), except /tmp itself
    # for a checkout directly in it.
    holders = [a for a in guard.allowed if str(REPO_ROOT).startswith(a + os.sep) or a == str(REPO_ROOT)]
    assert holders == ([tmp] if beside_tmp else [])
    assert guard.offending(REPO_ROOT / "tests" / "data" / "provider-samples" / "manifest.jsonl") is None
    assert guard.offending(Path(sys.prefix) / "lib") is None
    checkout_under_tmp = str(REPO_ROOT).startswith(tmp + os.sep) and not beside_tmp
    # Temporary files stay allowed, unless the checkout itself lives under the temporary directory
    # (a CI clone in /tmp/ci/lava): then only the forbidden roots decide.
    expected = str(tmp_path / "f") if checkout_under_tmp else None
    assert guard.offending(tmp_path / "f") == expected


def test_the_session_guard_is_installed(request: pytest.FixtureRequest) -> None:
    from tests.conftest import OUTSIDE_READS

    guard = request.config.stash[OUTSIDE_READS]
    outside = REPO_ROOT.parent / "definitely-not-here-lava-guard-probe.txt"
    with pytest.raises(FileNotFoundError):
        open(outside)  # noqa: SIM115 - the attempt is what counts
    assert guard.take() == [str(outside)]
