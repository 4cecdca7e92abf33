"""`assistant guide`: the diagnosis for a person at a desk, one question at a time.

Every question has a default and shows its choices; `--yes` (or no terminal on stdin)
takes the defaults. The tool only ever works on clean browsers and copies, so the one
change it can ask about is a system one (flushing the DNS cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import click

SYMPTOMS = {
    "1": ("'Server busy, please try again later.' (or 服务器繁忙)", 3),
    "2": ("an error, or a reply that never finishes", 1),
    "3": ("it answers, but a feature is missing (e.g. image upload)", 1),
    "4": ("not sure", 2),
}


@dataclass
class Answers:
    """What the person told the guide."""

    turns: int
    site: str
    profile: Path | None
    allow_system_changes: bool


def ask(yes: bool, site: str | None, profile: Path | None) -> Answers:
    """The questions, with defaults; `yes` answers them all with the defaults."""
    from assistant.playbook.site import shipped_sites

    def choose(question: str, default, **kwargs):
        return default if yes else click.prompt(question, default=default, **kwargs)

    click.echo("What do you see in the chat?")
    for key, (text, _) in SYMPTOMS.items():
        click.echo(f"  {key}. {text}")
    symptom = choose("Your choice", "1", type=click.Choice(list(SYMPTOMS)), show_choices=False)
    site = site or choose("Which chat", "deepseek", type=click.Choice([s for s in shipped_sites() if s != "generic"]))
    if profile is None and not yes:
        raw = click.prompt("Test with a copy of your own browser profile (its folder; empty for a clean browser)", default="", show_default=False)
        profile = Path(raw).expanduser() if raw.strip() else None
    flush = False if yes else click.confirm("If DNS looks broken, may the tool flush this machine's DNS cache (a system change)?", default=False)
    click.echo("Your browser itself is not changed: the tool works in clean browsers and on copies.")
    return Answers(SYMPTOMS[symptom][1], site, profile, flush)


def save(verdict, answers: Answers, url: str | None, folder: Path) -> tuple[Path, Path]:
    """The report, and a playbook that repeats this check (`assistant run FILE`)."""
    from assistant.report.json_report import write_json

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report = folder / f"assistant-diagnosis-{stamp}.json"
    write_json(report, {"tool": "assistant", "site": answers.site, "url": url, "verdict": verdict.to_dict()})
    playbook = folder / f"assistant-diagnosis-{stamp}.playbook.yaml"
    browser = f"\nbrowser: {{profile: {{path: \"{answers.profile}\"}}}}" if answers.profile else ""
    playbook.write_text(
        "# Repeats the check `assistant guide` ran; run it with `assistant run` (add --url if you used one).\n"
        f"name: Diagnose {answers.site} again\nsite: {answers.site}{browser}\n"
        f"steps:\n  - diagnose: {{turns: {answers.turns}}}\n",
        encoding="utf-8",
    )
    return report, playbook
