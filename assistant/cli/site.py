"""Commands about site profiles: `probe-site` drafts one for a chat the tool does not know.

Added to the `assistant` group by `assistant.cli`; like every command module, nothing heavy at import time.
"""

from __future__ import annotations

from pathlib import Path

import click

from assistant.errors import ExitCode, UsageError

DEFAULT_PROMPT = "Reply with the single word: pong"  # kept equal to probe_site.DEFAULT_PROMPT (not imported: heavy)


@click.command("probe-site")
@click.argument("url")
@click.option("--prompt", default=DEFAULT_PROMPT, show_default=True, help="The one message to send.")
@click.option("--save", "save_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Also write the draft profile to FILE.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Write what the probe found as JSON to FILE.")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True, metavar="SECONDS", help="How long the page load and the reply may take.")
@click.option("--storage-state", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help="A saved sign-in (`assistant login generic --url URL`) for a chat that needs an account.")
@click.option("--headed", is_flag=True, help="Show the browser window (default: headless).")
@click.option("--browser-path", metavar="PATH", help="A Chromium/Chrome executable (or set ASSISTANT_BROWSER).")
@click.pass_context
def probe_site(ctx, url, prompt, save_path, json_path, timeout_s, storage_state, headed, browser_path) -> None:
    """Draft a site profile for the chat at URL by using it once.

    Opens URL in Chromium, finds the composer and the send control, sends one message,
    and watches which new element gets the reply and which request carries the stream.
    Prints the draft profile (YAML) to check, fill in (busy texts) and save. Exit 0 when
    the chat answered, 1 when it could not be probed or did not answer normally.
    """
    import asyncio

    from assistant.discover.probe_site import probe_site as probe
    from assistant.discover.site_draft import render
    from assistant.report.json_report import write_json

    if not url.startswith(("http://", "https://")):
        raise UsageError(f"URL {url!r}: give the chat's address with http:// or https://, e.g. https://chat.deepseek.com.")
    found = asyncio.run(probe(url, prompt=prompt, timeout=timeout_s, headless=not headed, browser_path=browser_path, storage_state=storage_state))
    draft = render(found)
    click.echo(draft, nl=False)
    if save_path:
        save_path.write_text(draft, encoding="utf-8")
        click.echo(f"Draft saved to {save_path}; check it, then: assistant run PLAYBOOK.yaml --site {save_path}", err=True)
    if json_path:
        write_json(json_path, {**found.to_dict(), "draft": draft})
    ctx.exit(int(ExitCode.OK if found.outcome == "answered" else ExitCode.CHECK_FAILED))
