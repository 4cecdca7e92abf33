"""`assistant run`, `demo` and `simulate`: a playbook in a browser, the simulated chat."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.cli.options import browser_options, parse_vars, remote, report_options
from assistant.errors import ExitCode, UsageError


@click.command()
@click.argument("playbook", metavar="PLAYBOOK.yaml")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a playbook variable (repeatable).")
@click.option("--vars-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Variables from a YAML or JSON mapping: over the playbook's vars, under --var.")
@click.option("--site", metavar="NAME|PATH", help="Use this site profile instead of the playbook's.")
@click.option("--url", metavar="URL", help="Override the site's base URL (a simulator on another port, a staging host).")
@click.option("--in-place", is_flag=True, help="Use the playbook's browser.profile folder itself, not a copy (after a backup; asks first).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before changing anything of yours (--in-place).")
@browser_options
@report_options
@click.pass_context
def run(ctx, playbook, variables, vars_file, site, url, in_place, yes, **options) -> None:
    """Run a playbook against a web chat."""
    from assistant.playbook import load_playbook, load_vars_file

    given = {**(load_vars_file(vars_file) if vars_file else {}), **parse_vars(variables)}
    loaded = load_playbook(playbook, variables=given, site=site, url=url)
    if in_place:
        _back_up_for_in_place(loaded, yes)
    ctx.exit(_execute(loaded, in_place=in_place, **options))


def _back_up_for_in_place(playbook, yes: bool) -> None:
    """Consent, a lock check and a backup before a run may touch the person's own profile."""
    from assistant.browser import profiles

    folder = playbook.browser.profile_path
    if playbook.browser.profile != "path" or folder is None:
        raise UsageError("--in-place needs a profile to work on: set browser: {profile: {path: DIR}} in the playbook.")
    location = profiles.user_data_dir_of(folder)
    if not yes and not click.confirm(
        f"This run may change your browser profile {location.user_data_dir} (cookies, cache, storage). "
        "A backup is made first and `assistant restore` brings it back. Continue?", default=False, err=True
    ):
        raise UsageError("Nothing run: not confirmed (use --yes to skip the question).")
    from assistant.browser.backup import backup_profile

    backup = backup_profile(location.user_data_dir)  # refuses while a browser holds it
    click.echo(f"Backed up {location.user_data_dir} to {backup}; undo with `assistant restore {backup}`.", err=True)


@click.command()
@click.option("--scenario", default="busy-twice", show_default=True, help="Simulator scenario (see `assistant simulate --help`).")
@click.option("--busy-form", default="inline", show_default=True, help="inline, row or toast.")
@click.option("--lang", default="en", show_default=True, help="en or zh.")
@browser_options
@report_options
@click.pass_context
def demo(ctx, scenario, busy_form, lang, **options) -> None:
    """Watch the tool meet "Server busy" on the built-in simulated chat and back off.

    Starts the simulator in-process, runs playbooks/demo.yaml against it on the real
    5 s / 10 s / 30 s schedule and narrates what it sees.
    """
    from assistant.playbook import load_playbook
    from assistant.playbook.resources import playbooks_dir

    sim = _simulator(scenario=scenario, busy_form=busy_form, lang=lang)
    with sim:
        loaded = load_playbook(playbooks_dir() / "demo.yaml", url=sim.url)
        code = _execute(loaded, **options)
    ctx.exit(code)


def _simulator(**settings):
    from assistant.simulator import Simulator

    try:
        return Simulator(**settings).start()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


SCENARIO_HELP = (
    "healthy, busy-twice, always-busy, http-503, rate-limit, stream-stall, stream-truncated, stale-cache, bad-cookie, long-conversation."
)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--scenario", default="healthy", show_default=True, help=SCENARIO_HELP)
@click.option("--busy-form", default="inline", show_default=True, help="How the page shows busy: inline, row or toast.")
@click.option("--lang", default="en", show_default=True, help="Page language: en or zh.")
@click.option("--retry-after", default="7", show_default=True, help="Retry-After of the rate-limit scenario ('' for none).")
@click.option("--skin", default="deepseek", show_default=True,
              help="The page's look: deepseek, or plain (other markup, texts and stream; site profile simulator-plain).")
def simulate(host, port, scenario, busy_form, lang, retry_after, skin) -> None:
    """Serve the simulated web chat until Ctrl-C (which ends it with exit 0).

    Point a playbook at it with `assistant run PLAYBOOK --url http://127.0.0.1:PORT`.
    """
    import asyncio

    from assistant.simulator import serve

    def ready(url: str) -> None:
        click.echo(f"Simulated chat on {url} (scenario {scenario}, busy form {busy_form}, lang {lang}, skin {skin}); Ctrl-C stops it.", err=True)

    settings = {"scenario": scenario, "busy_form": busy_form, "lang": lang, "retry_after": retry_after, "skin": skin}
    try:
        asyncio.run(serve(host, port, on_ready=ready, **settings))
    except ValueError as exc:
        raise UsageError(f"{exc}.") from None
    except KeyboardInterrupt:
        click.echo("simulator stopped.", err=True)


def _execute(playbook, *, headed, browser_path, time_scale, json_path, artifacts, quiet, connect=None, cdp=None,
             junit_path=None, html_dir=None, trace="off", in_place=False) -> int:
    from assistant.report.console import ConsoleReporter
    from assistant.report.json_report import JsonReporter
    from assistant.runner import run_playbook

    if time_scale is not None and time_scale < 0:
        raise UsageError(f"--time-scale {time_scale:g}: give a number >= 0 (1 is real time).")
    listeners: list = [] if quiet else [ConsoleReporter()]
    if json_path:
        listeners.append(JsonReporter(json_path))
    if junit_path:
        from assistant.report.junit import JunitReporter

        listeners.append(JunitReporter(junit_path))
    if html_dir:
        from assistant.report.html import HtmlReporter

        listeners.append(HtmlReporter(html_dir))
    result = run_playbook(
        playbook,
        listeners=listeners,
        time_scale=1.0 if time_scale is None else time_scale,
        headless=False if headed else None,
        browser_path=browser_path,
        artifacts_dir=artifacts,
        in_place=in_place,
        trace=trace,
        remote=remote(connect, cdp),
    )
    if quiet:
        click.echo(f"{result.outcome.upper()}  {result.summary}", err=True)
    return int(ExitCode.OK if result.outcome == "passed" else ExitCode.CHECK_FAILED)
