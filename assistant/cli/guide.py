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


def site_for_url(url: str | None) -> str | None:
    """The shipped site whose URL has `url`'s host (loopback: the simulator), or None."""
    from urllib.parse import urlsplit

    from assistant.playbook import load_site
    from assistant.playbook.site import shipped_sites

    host = urlsplit(url).hostname if url else None
    if not host:
        return None
    if host in ("127.0.0.1", "localhost", "::1"):
        return "simulator"
    for name in shipped_sites():
        try:
            if urlsplit(load_site(name).url).hostname == host:
                return name
        except Exception:  # a shipped profile that does not load is not this one
            continue
    return None


def ask(yes: bool, site: str | None, profile: Path | None, url: str | None = None) -> Answers:
    """The questions, with defaults; `yes` answers them all with the defaults (and says so)."""
    from assistant.playbook.site import shipped_sites

    def choose(question: str, default, **kwargs):
        if yes:
            click.echo(f"{question}: {default} (the default, taken by --yes)")
            return default
        return click.prompt(question, default=default, **kwargs)


    click.echo("What do you see in the chat?")
    for key, (text, _) in SYMPTOMS.items():
        click.echo(f"  {key}. {text}")
    symptom = choose("Your choice", "1", type=click.Choice(list(SYMPTOMS)), show_choices=False)
    chats = [s for s in shipped_sites() if s != "generic"]
    guess = site_for_url(url)  # --url names the chat: its site is the default
    site = site or choose("Which chat", guess if guess in chats else "deepseek", type=click.Choice(chats))
    if profile is None:
        raw = choose("Test with a copy of your own browser profile (its folder, or none for a clean browser)", "none")
        profile = Path(raw).expanduser() if raw.strip().lower() not in ("", "none") else None
    if yes:
        click.echo("May the tool flush this machine's DNS cache if DNS looks broken: no (the default, taken by --yes)")
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
