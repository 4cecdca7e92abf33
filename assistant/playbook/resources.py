"""Where the shipped playbooks and site profiles are, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # assistant/


def playbooks_dir() -> Path:
    """`assistant/playbooks` in an installed wheel, else `playbooks/` of the checkout."""
    for candidate in (_PACKAGE / "playbooks", _PACKAGE.parent / "playbooks"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the shipped playbooks are missing from this installation")


def sites_dir() -> Path:
    """The folder of shipped site profiles."""
    return playbooks_dir() / "sites"
