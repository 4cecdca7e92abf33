"""The watch's history in SQLite: checks, probe readings, state changes, incidents, and each
target's state between `--once` rounds.

One transaction per check (its row, the change it completes, the incident and the
target's state together), in WAL mode, so a kill at any moment loses at most the check
in flight and never leaves a change without its check.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from assistant.errors import EnvironmentProblem
from assistant.watch.states import Change, Incident, Observation, Reading, Tracker

SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
  id INTEGER PRIMARY KEY, target TEXT NOT NULL, at REAL NOT NULL, kind TEXT NOT NULL,
  outcome TEXT NOT NULL, detail TEXT, duration_s REAL, attempts INTEGER, missing TEXT,
  half_open INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS checks_target_at ON checks (target, at);
CREATE TABLE IF NOT EXISTS readings (
  id INTEGER PRIMARY KEY, target TEXT NOT NULL, at REAL NOT NULL, indicator TEXT,
  status_summary TEXT, maintenance INTEGER NOT NULL DEFAULT 0, api TEXT, answering TEXT);
CREATE INDEX IF NOT EXISTS readings_target_at ON readings (target, at);
CREATE TABLE IF NOT EXISTS changes (
  id INTEGER PRIMARY KEY, target TEXT NOT NULL, at REAL NOT NULL, previous TEXT NOT NULL,
  state TEXT NOT NULL, event TEXT NOT NULL, summary TEXT, maintenance INTEGER NOT NULL DEFAULT 0,
  incident_id INTEGER);
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY, target TEXT NOT NULL, first_failed_at REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS targets (name TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


def default_path() -> Path:
    """`$XDG_STATE_HOME/assistant/watch.sqlite3` (XDG's default: ~/.local/state)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "assistant" / "watch.sqlite3"


class History:
    """One database file; `close()` when done."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=10.0)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EnvironmentProblem(
                f"the watch history {self.path} cannot be opened: {exc}",
                hint="choose a writable file with --db FILE, or set XDG_STATE_HOME",
            ) from None

    def close(self) -> None:
        self.db.close()

    # -- writing --------------------------------------------------------------------------

    def tracker(self, name: str) -> Tracker:
        row = self.db.execute("SELECT data FROM targets WHERE name = ?", (name,)).fetchone()
        return Tracker.from_dict(json.loads(row[0])) if row else Tracker(name)

    def record_check(self, tracker: Tracker, obs: Observation, change: Change | None) -> None:
        """The check, the change it completed and the target's state, in one transaction."""
        with self.db:
            self.db.execute(
                "INSERT INTO checks (target, at, kind, outcome, detail, duration_s, attempts, missing, half_open)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (tracker.name, obs.at, obs.kind, obs.outcome, obs.detail, obs.duration_s, obs.attempts,
                 json.dumps(obs.missing), int(obs.half_open)))
            self._incident_and_change(tracker, change)
            self._save(tracker)

    def record_reading(self, tracker: Tracker, reading: Reading) -> None:
        with self.db:
            self.db.execute(
                "INSERT INTO readings (target, at, indicator, status_summary, maintenance, api, answering)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tracker.name, reading.at, reading.indicator, reading.status_summary, int(reading.maintenance),
                 reading.api, json.dumps(reading.answering)))
            self._incident_and_change(tracker, None)
            self._save(tracker)

    def _incident_and_change(self, tracker: Tracker, change: Change | None) -> None:
        for inc in {id(i): i for i in (tracker.incident, change and change.incident) if i}.values():
            self._store_incident(tracker.name, inc)
        if change is not None:
            self.db.execute(
                "INSERT INTO changes (target, at, previous, state, event, summary, maintenance, incident_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tracker.name, change.at, change.previous, change.state, change.event, change.summary,
                 int(change.maintenance), change.incident.id if change.incident else None))

    def _store_incident(self, target: str, inc: Incident) -> None:
        data = json.dumps({k: v for k, v in inc.to_dict().items() if k != "id"})
        if inc.id is None:
            cur = self.db.execute("INSERT INTO incidents (target, first_failed_at, data) VALUES (?, ?, ?)",
                                  (target, inc.first_failed_at, data))
            inc.id = cur.lastrowid
        else:
            self.db.execute("UPDATE incidents SET data = ? WHERE id = ?", (data, inc.id))

    def save(self, tracker: Tracker) -> None:
        with self.db:
            self._save(tracker)

    def _save(self, tracker: Tracker) -> None:
        self.db.execute("INSERT INTO targets (name, data) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET data = excluded.data",
                        (tracker.name, json.dumps(tracker.to_dict())))

    # -- reading --------------------------------------------------------------------------

    def targets(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM targets ORDER BY name")]

    def checks(self, target: str, since: float = 0.0) -> list[dict]:
        rows = self.db.execute(
            "SELECT at, kind, outcome, detail, duration_s, attempts, missing, half_open FROM checks"
            " WHERE target = ? AND at >= ? ORDER BY at", (target, since))
        return [{"at": r[0], "kind": r[1], "outcome": r[2], "detail": r[3], "duration_s": r[4], "attempts": r[5],
                 "missing": json.loads(r[6] or "[]"), "half_open": bool(r[7])} for r in rows]

    def readings(self, target: str, since: float = 0.0) -> list[dict]:
        rows = self.db.execute(
            "SELECT at, indicator, status_summary, maintenance, api, answering FROM readings"
            " WHERE target = ? AND at >= ? ORDER BY at", (target, since))
        return [{"at": r[0], "indicator": r[1], "status_summary": r[2], "maintenance": bool(r[3]), "api": r[4],
                 "answering": json.loads(r[5] or "[]")} for r in rows]

    def changes(self, target: str) -> list[dict]:
        rows = self.db.execute("SELECT at, previous, state, event, summary, maintenance, incident_id FROM changes"
                               " WHERE target = ? ORDER BY at, id", (target,))
        return [{"at": r[0], "previous": r[1], "state": r[2], "event": r[3], "summary": r[4],
                 "maintenance": bool(r[5]), "incident": r[6]} for r in rows]

    def incidents(self, target: str) -> list[dict]:
        rows = self.db.execute("SELECT id, data FROM incidents WHERE target = ? ORDER BY first_failed_at", (target,))
        return [{"id": r[0], **json.loads(r[1])} for r in rows]
