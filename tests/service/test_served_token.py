"""The `token` command line the running app answers before the CLI loads: plain invocations
are taken, anything else is left to argparse (which knows the help, abbreviations and errors)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.service.served_token import parse


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["a"], ("a", "raw", 60.0, False, None)),
        (["a", "--format", "header"], ("a", "header", 60.0, False, None)),
        (["--format=curl", "a"], ("a", "curl", 60.0, False, None)),
        (["a", "--min-valid", "300", "--force-refresh"], ("a", "raw", 300.0, True, None)),
        (["a", "--min-valid=0"], ("a", "raw", 0.0, False, None)),
        (["a", "--format", "env", "--env", "GH_TOKEN"], ("a", "env", 60.0, False, "GH_TOKEN")),
        (["a", "--format", "raw", "--format", "bearer"], ("a", "bearer", 60.0, False, None)),
    ],
)
def test_plain_command_lines(words: list[str], expected: tuple[object, ...]) -> None:
    args = parse(words)
    assert args is not None
    assert (args.name, args.fmt, args.min_valid, args.force, args.variable) == expected


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["--help"],
        ["a", "-h"],
        ["a", "b"],
        ["a", "--format"],
        ["a", "--format", "json"],  # the CLI's (ISO times)
        ["a", "--format", "xml"],
        ["a", "--form", "raw"],  # argparse's abbreviation: its business
        ["a", "--min-valid", "-1"],
        ["a", "--min-valid", "nan"],
        ["a", "--min-valid", "inf"],
        ["a", "--min-valid", "1e400"],
        ["a", "--min-valid", "soon"],
        ["a", "--env", "X"],  # --env goes with --format env
        ["a", "--format", "env", "--env", "1X"],
        ["a", "--", "b"],
        ["-a"],
        ["a", "--id-token"],
    ],
)
def test_anything_else_is_left_to_the_cli(words: list[str]) -> None:
    assert parse(words) is None


@given(st.lists(st.text(max_size=12), max_size=6))
def test_parse_never_raises(words: list[str]) -> None:
    args = parse(words)
    if args is not None:
        assert args.name is not None and not args.name.startswith("-")
        assert 0 <= args.min_valid <= 10 * 366 * 86400
