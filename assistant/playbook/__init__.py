"""Playbooks: YAML files turned into a validated, typed model before any browser starts.

Public API: `load_playbook`, `load_vars_file`, `load_site`, `parse_duration`. They are imported lazily
so that reading the model (`assistant.playbook.model`, which every layer does) does not load the
YAML loader and its validation.
"""

from __future__ import annotations

__all__ = ["load_playbook", "load_vars_file", "load_site", "parse_duration"]

_HOMES = {
    "load_playbook": "assistant.playbook.load",
    "load_vars_file": "assistant.playbook.load",
    "load_site": "assistant.playbook.site",
    "parse_duration": "assistant.playbook.validate",
}


def __getattr__(name: str):
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
