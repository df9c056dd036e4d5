"""The test suite stands alone: record every file a test opens outside the checkout.

A user who clones the repository has nothing beside it (no sibling ``shared`` directory), so a test that reads
``<repo>/../anything`` passes here and fails there. :class:`OutsideReads` is a ``sys.addaudithook``
callback that records ``open`` / ``os.listdir`` / ``os.scandir`` events whose path lies under a
*forbidden root* (by default the directory that holds the checkout, plus any directory named in
``$LAVA_TEST_FORBIDDEN_READS``, ``os.pathsep``-separated) but not inside the checkout itself and
not inside an allowed prefix (the interpreter's prefixes and ``sys.path`` entries outside the
repository, i.e. the virtualenv and site-packages, and the temporary directory). ``tests/conftest.py``
installs one per test session and fails the test (or the collection) that read such a path.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

AUDITED_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})
FORBIDDEN_ENV = "LAVA_TEST_FORBIDDEN_READS"


def _norm(path: str | Path) -> str:
    return os.path.normpath(os.path.abspath(os.fspath(path)))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class OutsideReads:
    """An audit hook recording opens under ``forbidden`` roots, outside ``repo`` and ``allowed``.

    ``seen`` lists the offending absolute paths in order (duplicates kept once). ``active`` turns
    recording off without removing the hook (audit hooks cannot be removed).
    """

    def __init__(self, repo: Path, forbidden: Iterable[Path], allowed: Iterable[Path] = ()) -> None:
        self.repo = _norm(repo)
        self.forbidden = tuple(_norm(p) for p in forbidden)
        self.allowed = tuple(_norm(p) for p in allowed)
        self.seen: list[str] = []
        self.active = True

    @classmethod
    def for_checkout(cls, repo: Path) -> OutsideReads:
        """The default policy for this repository: see the module docstring."""
        extra = [Path(p) for p in os.environ.get(FORBIDDEN_ENV, "").split(os.pathsep) if p]
        repo_n = _norm(repo)
        allowed = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]
        allowed += [Path(p) for p in sys.path if p and not _under(_norm(p), repo_n)]
        # An allowed prefix that holds the checkout (``/``, ``/work``) would allow everything.
        allowed = [a for a in allowed if not _under(repo_n, _norm(a))]
        # Temporary files are fine, unless the temporary directory holds the checkout's parent: then
        # allowing it would allow the very directory that is guarded (a CI clone under /tmp/ci/lava).
        # A checkout directly in /tmp leaves /tmp allowed, so it is not guarded.
        tmp = _norm(tempfile.gettempdir())
        if not _under(repo_n, tmp) or _norm(repo.parent) == tmp:
            allowed.append(Path(tmp))
        return cls(repo, [repo.parent, *extra], allowed)

    def offending(self, raw: object) -> str | None:
        """The normalised path when ``raw`` (an audited path argument) must not be read, else None."""
        if isinstance(raw, int) or raw is None:
            return None
        try:
            path = _norm(os.fsdecode(raw))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if _under(path, self.repo) or any(_under(path, a) for a in self.allowed):
            return None
        return path if any(_under(path, f) for f in self.forbidden) else None

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active or event not in AUDITED_EVENTS or not args:
            return
        path = self.offending(args[0])
        if path is not None and path not in self.seen:
            self.seen.append(path)

    def take(self) -> list[str]:
        """The paths recorded since the last call, and forget them."""
        out, self.seen = self.seen, []
        return out
