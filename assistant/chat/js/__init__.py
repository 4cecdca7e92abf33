"""The in-page scripts, as .js files beside this module (read once, on first use)."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def script(name: str) -> str:
    """The text of the in-page script `name` (a file in this folder)."""
    return (Path(__file__).parent / name).read_text(encoding="utf-8")
