"""`--json FILE`: the run as JSON, written when the run ends (also when it fails or is interrupted)."""

from __future__ import annotations

import json
from pathlib import Path

from assistant import events as ev
from assistant.errors import EnvironmentProblem
from assistant.report.files import write_report
from assistant.report.redact import redact_all


class JsonReporter:
    """Writes the RunResult to a file, atomically, when the run ends; `error` says why it could not."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.written = False
        self.error: EnvironmentProblem | None = None

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunEnded) and event.result is not None:
            try:
                write_json(self.path, event.result.to_dict())
                self.written = True
            except EnvironmentProblem as exc:
                self.error = exc


def write_json(path: Path, data: dict, what: str = "the --json report") -> None:
    """Write `data` (URL passwords redacted) to `path` (see `write_report`); raises EnvironmentProblem."""
    text = json.dumps(redact_all(data), ensure_ascii=False, indent=2) + "\n"
    write_report(Path(path), text.encode("utf-8"), what)
