"""The settings as people read them: defaults as text for ``--help``, and the settings
reference's tables (``eventlens settings --readme docs/settings.md``; ``tests/test_settings.py``
checks them)."""

from __future__ import annotations

from collections.abc import Iterator

from eventlens.settings import Mode, default_for, options


def default_text(name: str, mode: Mode) -> str:
    option = options()[name]
    if option.shown_default is not None:
        return option.shown_default
    value = default_for(name, mode)
    if value is None:
        return "none"
    shown = option.show(value)
    return shown if shown.startswith("`") or " " in shown else f"`{shown}`"


def rows(mode: Mode) -> Iterator[tuple[str, str, str, str]]:
    """(option, variable, default, meaning) for each setting of ``mode``."""
    for name, option in options().items():
        if mode in option.modes:
            cli = f"`{option.cli}`" if option.cli else ""
            yield cli, f"`{option.variable}`", default_text(name, mode), option.help


def markdown_table(mode: Mode) -> str:
    lines = ["| option | variable | default | meaning |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows(mode)]
    return "\n".join(lines)


def readme_with_tables(text: str) -> str:
    """``text`` (a Markdown page, ``docs/settings.md``) with each ``<!-- settings:MODE -->`` …
    ``<!-- /settings:MODE -->`` block replaced by that mode's generated table."""
    for mode in Mode:
        start, end = f"<!-- settings:{mode} -->", f"<!-- /settings:{mode} -->"
        head, found, rest = text.partition(start)
        if not found:
            raise ValueError(f"it has no {start} block (the tables live in docs/settings.md)")
        _, found, tail = rest.partition(end)
        if not found:
            raise ValueError(f"its {start} block has no {end}")
        text = f"{head}{start}\n{markdown_table(mode)}\n{end}{tail}"
    return text
