"""Commands about the person's browser: its extensions, bisection, sign-in state, backups.

Added to the `assistant` group by `assistant.cli`; like every command module, nothing heavy at import time.
"""

from __future__ import annotations

from pathlib import Path

import click

from assistant.cli.options import URL, browser_options, site_argument
from assistant.errors import ExitCode, UsageError


def _profile_folder(profile: str | None) -> Path:
    from assistant.browser.find import default_user_data_dirs

    if profile:
        folder = Path(profile).expanduser()
        if not folder.exists():
            raise UsageError(f"{folder} does not exist. Give a profile folder (chrome://version shows it as 'Profile Path') "
                             "or a user-data folder (the one holding 'Local State').")
        return folder
    found = [d for d in default_user_data_dirs() if d.is_dir()]
    if not found:
        looked = ", ".join(str(d) for d in default_user_data_dirs())
        raise UsageError(f"No Chrome or Chromium profile found (looked in {looked}). Give the profile folder: chrome://version shows it as 'Profile Path'.")
    return found[0]


@click.command()
@click.argument("profile", required=False, metavar="[PROFILE]")
def extensions(profile) -> None:
    """List the extensions of a Chrome/Chromium profile: id, name, version, enabled.

    PROFILE is a user-data folder or one profile in it (default: this machine's Chrome,
    else Chromium). Nothing in the profile is changed.
    """
    from assistant.browser.extensions import discover

    folder = _profile_folder(profile)
    found = discover(folder)
    click.echo(f"{len(found)} extension(s) in {folder}")
    for ext in found:
        state = "enabled" if ext.enabled else "disabled"
        click.echo(f"  {ext.id}  {ext.name}  {ext.version}  {state}" + (f"  (cannot be read: {ext.problem})" if ext.problem else ""))


@click.command()
@click.argument("site", default="deepseek", metavar="[SITE]")
@click.option("--extension", "paths", multiple=True, metavar="DIR", help="An unpacked extension folder (repeatable).")
@click.option("--profile", metavar="DIR", help="Take the enabled extensions of this Chrome/Chromium profile.")
@click.option("--url", type=URL, metavar="URL", help="Override the site's base URL.")
@click.option("--prompt", default="Reply with the single word: pong", show_default=True, help="The message of the check.")
@click.option("--contains", default="pong", show_default=True, help="What a working reply contains.")
@click.option("--timeout", "timeout_s", type=float, default=15.0, show_default=True, metavar="SECONDS", help="How long one reply may take.")
@browser_options
@click.pass_context
def bisect(ctx, site, paths, profile, url, prompt, contains, timeout_s, **options) -> None:
    """Find the extension(s) that break the chat, by launching with halves of them.

    One culprit among N takes at most ceil(log2 N) + 2 launches; every conviction is
    re-tested. Exit 1 when an extension breaks the chat, 0 when none does.
    """
    from assistant.experiments.extensions import bisect_command
    from assistant.experiments.trial import Check
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase

    if options.get("connect") or options.get("cdp"):
        raise UsageError("bisect loads extensions, which needs a browser launched here: drop --connect/--cdp.")
    exts = _extensions(paths, profile)
    site_argument(site)
    profile_site = load_site(site)
    profile_site = rebase(profile_site, url) if url else profile_site
    check = Check(prompt=prompt, contains=contains, timeout=timeout_s)
    found = bisect_command(profile_site, [e for e in exts if e.readable], check, options, skipped=[e for e in exts if not e.readable])
    ctx.exit(int(ExitCode.CHECK_FAILED if found.culprits else ExitCode.OK))


def _extensions(paths: tuple[str, ...], profile: str | None) -> list:
    from assistant.browser.extensions import discover, load_unpacked

    if bool(paths) == bool(profile):
        raise UsageError("Give the extensions either with --extension DIR (repeatable) or with --profile DIR, not both and not neither.")
    exts = [load_unpacked(p) for p in paths] if paths else [e for e in discover(Path(profile).expanduser()) if e.enabled]
    if not any(e.readable for e in exts):
        unread = "".join(f"; cannot read {e.path}: {e.problem}" for e in exts)
        raise UsageError(f"No enabled extensions the tool can load found in {profile}: nothing to bisect{unread}.")
    return exts


@click.command()
@click.argument("site", default="deepseek", metavar="[SITE]")
@click.option("--url", type=URL, metavar="URL", help="Override the site's base URL.")
@click.option("--save", "save_to", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Where to save the session (default ~/.local/share/assistant/state/SITE.json).")
@click.option("--browser-path", metavar="PATH", help="A Chromium/Chrome executable.")
@click.option("--headless", is_flag=True, hidden=True, help="For tests: no window.")
def login(site, url, save_to, browser_path, headless) -> None:
    """Open a browser window, let you sign in, save that session for playbooks.

    The file (cookies and localStorage, mode 0600) is never printed; a playbook uses it
    with `browser: {profile: {storage_state: FILE}}`.
    """
    from assistant.experiments.extensions import login_command
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase

    site_argument(site)
    profile_site = load_site(site)
    profile_site = rebase(profile_site, url) if url else profile_site
    target = save_to or Path.home() / ".local/share/assistant/state" / f"{profile_site.name}.json"
    saved = login_command(profile_site, target, headless=headless, browser_path=browser_path,
                          wait=lambda: click.prompt("Sign in in the browser window, then press Enter here", default="", show_default=False))
    click.echo(f"Saved the session to {saved} (mode 0600: it signs you in, keep it private).")


@click.command()
@click.argument("backup", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path), help="Restore into this folder instead of where the backup came from.")
@click.option("--list", "list_only", is_flag=True, help="List the backups.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before replacing the profile folder.")
def restore(backup, target, list_only, yes) -> None:
    """Bring a profile back, byte for byte, from a backup made before an --in-place run."""
    from assistant.browser import backup as backups

    if list_only or backup is None:
        found = backups.list_backups()
        if not found:
            click.echo(f"No backups in {backups.backups_folder()} (a backup is made before each --in-place run).")
            return
        for item in found:
            count = item.get("file_count")
            files = f"  {count} file{'' if count == 1 else 's'}" if isinstance(count, int) else ""
            click.echo(f"{item['path']}  from {item.get('original') or 'an unknown folder'}  {item.get('created_at') or ''}{files}".rstrip())
        return
    destination = target or "the folder it came from"
    if not yes and not click.confirm(f"Replace {destination} with the backup {backup}? (its current state is kept aside)", default=False):
        raise UsageError("Nothing restored: not confirmed (use --yes to skip the question).")
    restored = backups.restore_profile(backup, target)
    aside = sorted(restored.parent.glob(f"{restored.name}.before-restore-*"), key=lambda p: p.stat().st_mtime)
    kept = f" What was there before is kept in {aside[-1]} (delete it when you no longer need it)." if aside else ""
    click.echo(f"Restored {restored} from {backup}.{kept}")
