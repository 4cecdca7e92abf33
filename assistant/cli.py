"""The command line: parse arguments, call the core, map errors to exit codes.

Nothing heavy is imported at module level: `assistant --help` must not start Playwright.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from assistant import __version__
from assistant.errors import AssistantError, ExitCode, UsageError

EXIT_CODES_HELP = """Exit codes: 0 passed, 1 a check failed, 2 invalid playbook or arguments,
3 environment (no browser, port taken), 130 interrupted."""


class Group(click.Group):
    """Maps every AssistantError to its exit code with a one-paragraph message, no traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AssistantError as exc:
            click.echo(f"error ({exc.label}): {exc}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("interrupted: the browser was closed and temporary profiles removed.", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="assistant")
def cli() -> None:
    """Troubleshoot AI web chats that answer "Server busy, please try again later."

    Runs YAML playbooks in a real Chromium against a web chat (DeepSeek's, any other by
    site profile, or the built-in simulator), detects busy replies, retries on a schedule
    and reports what happened.
    """


def browser_options(fn):
    """Options shared by every command that runs a browser."""
    options = [
        click.option("--headed", is_flag=True, help="Show the browser window (default: headless)."),
        click.option("--browser-path", metavar="PATH", help="A Chromium/Chrome executable (or set ASSISTANT_BROWSER)."),
        click.option("--time-scale", type=float, default=None, metavar="F", envvar="ASSISTANT_TIME_SCALE",
                     help="Multiply every real wait by F (0.01 runs a 30 s backoff in 0.3 s); reports keep nominal seconds."),
        click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                     help="Write the run's report as JSON to FILE."),
        click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     help="Folder for screenshots (failure screenshots included)."),
        click.option("-q", "--quiet", is_flag=True, help="Print only the final line."),
        click.option("--connect", metavar="WS_ENDPOINT", help="Use a remote Playwright browser server (`playwright run-server`) instead of a local browser."),
        click.option("--cdp", metavar="URL", help="Attach to an existing Chromium over CDP (started with --remote-debugging-port)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def report_options(fn):
    """Report files of a playbook run (bisect and the others write no RunResult, so not in browser_options)."""
    options = [
        click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                     help="Write the run as JUnit XML to FILE (a testcase per step, every attempt in it)."),
        click.option("--html", "html_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     help="Write a self-contained DIR/index.html: steps, attempts on a timeline, screenshots."),
        click.option("--trace", type=click.Choice(["off", "on", "retain-on-failure"]), default="off", show_default=True,
                     help="Record a Playwright trace into --artifacts (open it with `playwright show-trace`)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _remote(connect: str | None, cdp: str | None) -> str | None:
    if connect and cdp:
        raise UsageError("Give --connect or --cdp, not both: they are two ways to reach one remote browser.")
    return connect or (f"cdp:{cdp}" if cdp else None)


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """`K=V` pairs from --var."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var {pair!r} is not of the form NAME=VALUE, e.g. --var prompt='Hello'.")
        out[key.strip()] = value
    return out


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
        remote=_remote(connect, cdp),
    )
    if quiet:
        click.echo(f"{result.outcome.upper()}  {result.summary}", err=True)
    return int(ExitCode.OK if result.outcome == "passed" else ExitCode.CHECK_FAILED)


@cli.command()
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
    backup = profiles.backup_profile(location.user_data_dir)  # refuses while a browser holds it
    click.echo(f"Backed up {location.user_data_dir} to {backup}; undo with `assistant restore {backup}`.", err=True)


@cli.command()
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
    from assistant.resources import playbooks_dir

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


@cli.command()
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


@cli.command()
@click.option("--browser-path", metavar="PATH", help="Check this Chromium/Chrome executable.")
@click.option("--install-browser", is_flag=True,
              help="If no browser works, install one: Playwright's Chromium, else the system package (apt-get/dnf; needs root or sudo).")
@click.pass_context
def doctor(ctx, browser_path, install_browser) -> None:
    """Say which browser the tool will use, its version, and how to get one if none."""
    from assistant.doctor import check_browser

    ok = check_browser(browser_path, echo=click.echo)
    if not ok and install_browser:
        from assistant.browser.install import install_browser as install

        click.echo("Installing a browser (asked for with --install-browser) ...")
        ok = install(click.echo) and check_browser(browser_path, echo=click.echo)
    ctx.exit(int(ExitCode.OK if ok else ExitCode.ENVIRONMENT))


PROBLEM_OUTCOMES = ("down", "busy", "rate_limited", "queued", "error", "timeout")


@cli.command()
@click.argument("site", default="deepseek", metavar="[SITE]")
@click.option("--url", metavar="URL", help="Override the site's base URL (its status page and API follow when on the same host).")
@click.option("--only", metavar="NAMES", help="Comma-separated probes: status_page, api, dns, connect, streams, windows (default: all).")
@click.option("--timeout", "timeout_s", type=float, default=10.0, show_default=True, metavar="SECONDS", help="Time limit of each probe.")
@click.option("--proxy", metavar="URL", help="Send the probes' traffic through this HTTP proxy.")
@click.option("--allow-system-changes", is_flag=True, help="Let probes change the system (flush the DNS cache); otherwise they only advise.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Write the findings as JSON to FILE.")
@click.pass_context
def probe(ctx, site, url, only, timeout_s, proxy, allow_system_changes, json_path) -> None:
    """Look at a chat from outside the browser: status page, API, DNS, connection, streams, windows.

    SITE is a site profile name or path (default deepseek). The probes run concurrently;
    each keeps to its own time limit. Exit 1 when a finding shows a problem (down, busy,
    rate-limited, queued, error, timeout), else 0.
    """
    import asyncio

    from assistant import events as ev
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase
    from assistant.probes import PROBE_NAMES, ProbeContext
    from assistant.probes.run import run_probes
    from assistant.report.console import ConsoleReporter
    from assistant.report.json_report import write_json

    names = [n.strip() for n in only.split(",") if n.strip()] if only else list(PROBE_NAMES)
    unknown = [n for n in names if n not in PROBE_NAMES]
    if unknown:
        raise UsageError(f"--only: unknown probe(s) {', '.join(unknown)}; known: {', '.join(PROBE_NAMES)}.")
    profile = load_site(site)
    profile = rebase(profile, url) if url else profile
    console = ConsoleReporter()
    context = ProbeContext(timeout=timeout_s, proxy=proxy, allow_system_changes=allow_system_changes)
    findings = asyncio.run(run_probes(profile, names, context, lambda f: console(ev.ProbeFinding(f))))
    if json_path:
        write_json(json_path, {"site": profile.name, "url": profile.url, "findings": [f.to_dict() for f in findings]})
    problems = [f for f in findings if f.outcome in PROBLEM_OUTCOMES]
    click.echo(f"{len(findings)} findings, {len(problems)} showing a problem.", err=True)
    ctx.exit(int(ExitCode.CHECK_FAILED if problems else ExitCode.OK))


# The other command modules register themselves onto `cli` when imported.
from assistant import cli_browser, cli_diagnose, cli_docs, cli_site  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="assistant")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
