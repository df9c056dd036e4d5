"""The CLI explains itself: ``lava --help`` lists every command; every command and flag has help."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lava_server.cli import build_parser

SRC = Path(__file__).resolve().parents[2] / "src"


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (command path, parser) pair, depth first, starting with the root."""
    yield path, parser
    sub = _subcommands(parser)
    if sub is not None:
        for name, child in sub.choices.items():
            yield from walk(child, (*path, name))


def help_of(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> str | None:
    for choice in sub._choices_actions:
        if choice.dest == name:
            return choice.help
    return None


ALL = list(walk(build_parser()))


def test_the_cli_has_the_expected_commands() -> None:
    leaves = {" ".join(path) for path, p in ALL if _subcommands(p) is None}
    assert leaves >= {
        "serve", "migrate", "merchants create", "products create", "connections create", "wallets credit",
        "provider-keys set", "provider-keys list", "prices set", "checkout settings", "requests reprice",
        "ledger check",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("path", "parser"),
    [(p, q) for p, q in ALL if _subcommands(q) is not None],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else "",
)
def test_every_command_has_a_one_line_help(path: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
    sub = _subcommands(parser)
    assert sub is not None
    for name in sub.choices:
        text = help_of(sub, name)
        assert text and text.strip() and "\n" not in text, f"lava {' '.join((*path, name))} has no one-line help"


@pytest.mark.parametrize(("path", "parser"), ALL, ids=lambda v: " ".join(v) or "lava" if isinstance(v, tuple) else "")
def test_every_flag_has_a_one_line_help(path: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
    missing = [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction | argparse._HelpAction)
        and (not a.help or not a.help.strip() or "\n" in a.help or a.help == argparse.SUPPRESS)
    ]
    assert not missing, f"lava {' '.join(path)}: arguments without help: {missing}"


def test_lava_help_lists_every_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lava_server", "--help"],
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    root_sub = _subcommands(build_parser())
    assert root_sub is not None
    for name in root_sub.choices:
        assert name in proc.stdout
        text = help_of(root_sub, name)
        assert text is not None and text.split()[0] in proc.stdout
    for path, parser in ALL:
        if path and _subcommands(parser) is not None:
            out = subprocess.run(
                [sys.executable, "-m", "lava_server", *path, "--help"],
                env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
            sub = _subcommands(parser)
            assert sub is not None
            assert all(action in out for action in sub.choices), out
