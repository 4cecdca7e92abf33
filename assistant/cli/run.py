"""`assistant run`, `demo` and `simulate`: a playbook in a browser, the simulated chat."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from assistant.cli.options import (
    TIME_SCALE,
    URL,
    browser_options,
    ci_options,
    parse_headers,
    parse_vars,
    remote,
    report_options,
    site_argument,
)
from assistant.errors import (
    AssistantError,
    EnvironmentProblem,
    ExitCode,
    UsageError,
    stop_signals_held,
)
from assistant.report.redact import redact


@click.command()
@click.argument("playbook", metavar="PLAYBOOK.yaml")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a playbook variable (repeatable).")
@click.option("--vars-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Variables from a YAML or JSON mapping: over the playbook's vars, under --var.")
@click.option("--site", metavar="NAME|PATH", help="Use this site profile instead of the playbook's.")
@click.option("--url", type=URL, metavar="URL", help="Override the site's base URL (a simulator on another port, a staging host).")
@click.option("--in-place", is_flag=True, help="Use the playbook's browser.profile folder itself, not a copy (after a backup; asks first).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before changing anything of yours (--in-place).")
@browser_options
@report_options
@ci_options
@click.pass_context
def run(ctx, playbook, variables, vars_file, site, url, in_place, yes, **options) -> None:
    """Run a playbook against a web chat."""
    reports: list = []
    try:
        with stop_signals_held():  # made first and whole: a playbook that does not load, or a stop, still gets them
            reports = _reporters(options)
        from assistant.playbook import load_playbook, load_vars_file

        if site:
            site_argument(site, "--site", Path(playbook).parent)
        given = {**(load_vars_file(vars_file) if vars_file else {}), **parse_vars(variables)}
        loaded = load_playbook(playbook, variables=given, site=site, url=url,
                               warn=lambda text: click.echo(f"warning: {text}", err=True))
        if in_place:
            _back_up_for_in_place(loaded, yes)
    except AssistantError as exc:
        report_error(reports, playbook, exc)
        raise
    except KeyboardInterrupt:  # and SIGTERM/SIGHUP: stopped before the run began
        report_stop(reports, playbook)
        raise
    ctx.exit(_execute(loaded, reports=reports, in_place=in_place, **options))


def _back_up_for_in_place(playbook, yes: bool) -> None:
    """Consent, a lock check and a backup before a run may touch the person's own profile."""
    from assistant.browser import profiles

    folder = playbook.browser.profile_path
    if playbook.browser.profile != "path" or folder is None:
        raise UsageError("--in-place needs a profile to work on: set browser: {profile: {path: DIR}} in the playbook.")
    location = profiles.user_data_dir_of(folder)
    if not yes and not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(f"--in-place would change your browser profile {location.user_data_dir}, and there is no "
                         "terminal to ask you first: pass --yes to go ahead (a backup is made first), or run it from a terminal.")
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
@ci_options
@click.pass_context
def demo(ctx, scenario, busy_form, lang, **options) -> None:
    """Watch the tool meet "Server busy" on the built-in simulated chat and back off.

    Starts the simulator in-process, runs playbooks/demo.yaml against it on the real
    5 s / 10 s / 30 s schedule and narrates what it sees.
    """
    from assistant.playbook.resources import playbooks_dir

    reports: list = []
    try:
        with stop_signals_held():  # a stop now still gets every report
            reports = _reporters(options)
        from assistant.playbook import load_playbook

        with _simulator(scenario=scenario, busy_form=busy_form, lang=lang) as sim:
            loaded = load_playbook(playbooks_dir() / "demo.yaml", url=sim.url)
            if scenario != "busy-twice":  # the playbook's name tells the busy-twice story only
                import dataclasses

                loaded = dataclasses.replace(loaded, name=f"Simulated chat, scenario {scenario}")
            code = _execute(loaded, reports=reports, **options)
    except KeyboardInterrupt:  # and SIGTERM/SIGHUP: before the run began, the reports are still written
        report_stop(reports, playbooks_dir() / "demo.yaml")
        raise
    ctx.exit(code)


def _simulator(**settings):
    from assistant.simulator import Simulator

    try:
        return Simulator(**settings).start()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


SCENARIO_HELP = (
    "healthy, busy-twice, always-busy, http-503, rate-limit, stream-stall, stream-truncated, stale-cache, bad-cookie, "
    "long-conversation (busy from a conversation's 3rd message: diagnose with --turns 3). Faults count per browser "
    "session (a new profile meets them again; POST /__reset starts over); any API key is accepted."
)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port, 0-65535 (0 picks a free one).")
@click.option("--scenario", default="healthy", show_default=True, help=SCENARIO_HELP)
@click.option("--busy-form", default="inline", show_default=True, help="How the page shows busy: inline, row or toast.")
@click.option("--lang", default="en", show_default=True, help="Page language: en or zh.")
@click.option("--retry-after", default="7", show_default=True, help="Retry-After of the rate-limit scenario ('' for none).")
@click.option("--skin", default="deepseek", show_default=True,
              help="The page's look: deepseek, or plain (other markup, texts and stream; site profile simulator-plain).")
@click.option("--markup", default="2025", show_default=True, type=click.Choice(["2025", "2026"]),
              help="The deepseek skin's transcript: 2025, or 2026 (as a third party captured the live page).")
@click.option("--stream-path", default="/api/v0/chat/completion", show_default=True,
              type=click.Choice(["/api/v0/chat/completion", "/api/v1/chat/completion", "/api/v0/chat/stream"]),
              help="Where the deepseek skin's page streams from (another path than the profile's: only the page can tell).")
@click.option("-q", "--quiet", is_flag=True, help="Do not log a line per request.")
@click.option("--timeline", type=click.Choice(["outage"]), help="Replay an outage over and over: healthy 20 min, web and API busy 90 min (status page red 12 min in), image upload missing 30 min.")
@click.option("--time-scale", type=TIME_SCALE, default=1.0, metavar="F", help="With --timeline: multiply its waits by F.")
def simulate(host, port, scenario, busy_form, lang, retry_after, skin, markup, stream_path, quiet, timeline, time_scale) -> None:
    """Serve the simulated web chat until Ctrl-C (which ends it with exit 0).

    Point a playbook at it with `assistant run PLAYBOOK --url http://127.0.0.1:PORT`.
    """
    import asyncio

    from assistant.simulator import serve
    from assistant.simulator.settings import ready_notes

    def ready(url: str) -> None:
        click.echo(f"Simulated chat on {url} (scenario {scenario}, busy form {busy_form}, lang {lang}, skin {skin}, markup {markup}); Ctrl-C stops it.", err=True)
        for note in ready_notes(url, scenario, log=not quiet):
            click.echo(f"  {note}", err=True)

    settings = {"scenario": scenario, "busy_form": busy_form, "lang": lang, "retry_after": retry_after, "skin": skin,
                "markup": markup, "stream_path": stream_path}
    try:
        asyncio.run(serve(host, port, on_ready=ready, log=None if quiet else (lambda line: click.echo(line, err=True)),
                          timeline=timeline, time_scale=time_scale, **settings))
    except ValueError as exc:
        raise UsageError(f"{exc}.") from None
    except KeyboardInterrupt:
        click.echo("simulator stopped.", err=True)


def _reporters(options: dict) -> list:
    """The report files asked for (--json, --junit, --html, --summary or $GITHUB_STEP_SUMMARY), taken out of `options`."""
    json_path, junit_path, html_dir = (options.pop(k, None) for k in ("json_path", "junit_path", "html_dir"))
    summary_path = options.pop("summary_path", None)
    reports: list = []
    if summary_path is not None or os.environ.get("GITHUB_STEP_SUMMARY"):  # imported only when asked for
        from assistant.report.summary import summary_reporter

        reports.append(summary_reporter(summary_path))
    if json_path:
        from assistant.report.json_report import JsonReporter

        reports.append(JsonReporter(json_path))
    if junit_path:
        from assistant.report.junit import JunitReporter

        reports.append(JunitReporter(junit_path))
    if html_dir:
        from assistant.report.html import HtmlReporter

        reports.append(HtmlReporter(html_dir))
    return reports


def report_error(reports: list, playbook, exc: AssistantError) -> None:
    """A run that never started (a playbook that does not load) still gets its reports: outcome error."""
    from assistant import events as ev
    from assistant.records import RunResult

    if not reports:
        return
    message = str(exc)
    result = RunResult(playbook=Path(playbook).stem, path=str(playbook), site="", url="", outcome="error",
                       summary=message.splitlines()[0], error=message)
    event = ev.RunEnded("error", result.summary, 0.0, (), result)
    for report in reports:
        report(event)
    for report in reports:
        if report.error is not None:
            click.echo(f"error ({report.error.label}): {report.error}", err=True)


def report_stop(reports: list, playbook) -> None:
    """A stop signal before the run began still writes every requested report (outcome
    interrupted); once the run has begun, the run itself writes them."""
    from assistant import events as ev
    from assistant.errors import interrupted_by
    from assistant.records import RunResult

    if not reports or any(r.written or r.error is not None for r in reports):
        return
    summary = f"interrupted by {interrupted_by()}"
    result = RunResult(playbook=Path(playbook).stem, path=str(playbook), site="", url="", outcome="interrupted", summary=summary)
    for report in reports:
        report(ev.RunEnded("interrupted", summary, 0.0, (), result))


def _unwritten(reports: list) -> EnvironmentProblem | None:
    """One error naming every report that could not be written, or None."""
    errors = [r.error for r in reports if r.error is not None]
    if not errors:
        return None
    return EnvironmentProblem(" ".join(e.message[:1].upper() + e.message[1:] for e in errors), hint=errors[0].hint)


def _execute(playbook, reports: list, *, headed, browser_path, time_scale, artifacts, quiet, connect=None, cdp=None,
             trace="off", in_place=False, tracing=None, output=None, video="off", screenshot="only-on-failure",
             browser_channel=None, connect_headers=(), cdp_headers=(), expose_network=None) -> int:
    from assistant.browser.session import PLAYWRIGHT_OPTIONS
    from assistant.report.console import ConsoleReporter
    from assistant.report.files import check_folder
    from assistant.runner import run_playbook

    trace, artifacts = _aliases(trace, tracing, artifacts, output)
    where = remote(connect, cdp)
    connect_options = _connect_options(where, connect_headers, cdp_headers, expose_network)
    if artifacts is not None:
        check_folder(artifacts, "the --artifacts folder")
    elif trace == "on":
        check_folder(Path("assistant-results"), "the folder for --trace (assistant-results; choose another with --artifacts)")
    if trace != "off" and playbook.browser.profile != "clean":
        click.echo("note: this run is signed in (a profile or a saved session), so its trace holds the session's cookies "
                   "and tokens: keep the trace file private (it is written 0600) and do not attach it to public tickets.", err=True)
    listeners: list = ([] if quiet else [ConsoleReporter(hold_probes=True)]) + reports
    options = PLAYWRIGHT_OPTIONS.set({"connect": connect_options})
    try:
        result = run_playbook(
            playbook,
            listeners=listeners,
            time_scale=1.0 if time_scale is None else time_scale,
            headless=False if headed else None,
            browser_path=browser_path,
            artifacts_dir=artifacts,
            in_place=in_place,
            trace=trace,
            remote=where,
            media={"video": video, "screenshot": screenshot, "channel": browser_channel},
        )
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):  # stopped before the run began (the run writes them after)
            report_stop(reports, playbook.path or playbook.name)
        problem = _unwritten(reports)  # said, but the run's own error decides the exit code
        if problem is not None:
            click.echo(f"error ({problem.label}): {problem}", err=True)
        raise
    finally:
        PLAYWRIGHT_OPTIONS.reset(options)
    if quiet:
        click.echo(redact(f"{result.outcome.upper()}  {result.summary}"), err=True)
        for path in result.artifacts:  # a screenshot or trace is news even when quiet
            click.echo(f"  artifact: {path}", err=True)
    problem = _unwritten(reports)
    if problem is not None:
        raise problem
    return int(ExitCode.OK if result.outcome == "passed" else ExitCode.CHECK_FAILED)


def _aliases(trace: str, tracing: str | None, artifacts: Path | None, output: Path | None) -> tuple[str, Path | None]:
    """--tracing and --output are pytest-playwright's names for --trace and --artifacts."""
    if tracing is not None and trace != "off" and tracing != trace:
        raise UsageError(f"--trace {trace} and --tracing {tracing} disagree: they are one option, give one of them.")
    if output is not None and artifacts is not None and output != artifacts:
        raise UsageError("--artifacts and --output name two folders: they are one option, give one of them.")
    return tracing or trace, output or artifacts


def _connect_options(where: str | None, connect_headers, cdp_headers, expose_network) -> dict:
    """Headers and expose_network for the remote browser; each only with the option it belongs to."""
    if connect_headers and not (where and not where.startswith("cdp:")):
        raise UsageError("--connect-header goes with --connect WS_ENDPOINT (for --cdp use --cdp-header).")
    if cdp_headers and not (where and where.startswith("cdp:")):
        raise UsageError("--cdp-header goes with --cdp URL (for --connect use --connect-header).")
    if expose_network and not (where and not where.startswith("cdp:")):
        raise UsageError("--expose-network goes with --connect: it lets a Playwright browser server reach hosts through this machine.")
    headers = {**parse_headers(connect_headers, "--connect-header"), **parse_headers(cdp_headers, "--cdp-header")}
    options: dict = {"headers": headers} if headers else {}
    if expose_network:
        options["expose_network"] = expose_network
    return options
