"""`--json FILE`: the run as JSON, written when the run ends (also when it fails or is interrupted)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from assistant import events as ev


class JsonReporter:
    """Writes the RunResult to a file, atomically, when the run ends."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.written = False

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunEnded) and event.result is not None:
            write_json(self.path, event.result.to_dict())
            self.written = True


def write_json(path: Path, data: dict) -> None:
    """Write to a temporary file beside `path`, then rename: no half-written report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, indent=2)
        out.write("\n")
    os.replace(tmp, path)
