"""`assistant watch` and `assistant history`: added to the group by `assistant.cli`."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.cli.options import TIME_SCALE, URL
from assistant.errors import ExitCode, UsageError


class Duration(click.ParamType):
    """5m, 30s, 1h, or seconds."""

    name = "DURATION"

    def convert(self, value, param, ctx):
        from assistant.playbook.validate import parse_duration

        if isinstance(value, float):
            return value
        try:
            seconds = parse_duration(value)
        except ValueError:
            self.fail(f"{value!r} is not a duration: write 30s, 5m, 1h or seconds.", param, ctx)
        if seconds <= 0:
            self.fail(f"{value!r} must be longer than 0.", param, ctx)
        return seconds


DURATION = Duration()


def _targets(refs, url, policy, watch_file):
    """Targets from the command line and the watch file, every playbook validated now."""
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase
    from assistant.watch.checks import Target, playbook_target
    from assistant.watch.config import TargetSpec, load_watch_file

    specs = [TargetSpec(ref, _is_playbook(ref), url=url, policy=policy) for ref in refs]
    on_change: list[str] = []
    if watch_file is not None:
        loaded = load_watch_file(watch_file, policy)
        specs += loaded.targets
        on_change = loaded.on_change
    if not specs:
        raise UsageError("watch needs a TARGET (a site profile such as deepseek, or a playbook file) or --file WATCHFILE.")
    targets = []
    for spec in specs:
        if spec.is_playbook:
            target = playbook_target(Path(spec.ref), spec.policy, spec.url)
        else:
            site = load_site(spec.ref)
            target = Target(spec.name or site.name, rebase(site, spec.url) if spec.url else site, policy=spec.policy)
        target.name = spec.name or target.name
        target.webhooks, target.maintenance = spec.webhooks, spec.maintenance
        targets.append(target)
    names = [t.name for t in targets]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"two targets are named {', '.join(twice)}: give each its own `name:` in the watch file.")
    return targets, on_change


def _is_playbook(ref: str) -> bool:
    path = Path(ref)
    if not path.is_file():
        return False
    try:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:
        return False  # the site loader says what is wrong with it
    return isinstance(data, dict) and "steps" in data


def _narrate(quiet: bool):
    from assistant.watch.alerts import iso
    from assistant.watch.states import Change, Observation

    def on_check(name: str, item) -> None:
        if isinstance(item, Change):
            click.echo(f"{iso(item.at)}  {name}: {item.previous} -> {item.state}: {item.summary}"
                       + (" (maintenance: no alert)" if item.maintenance else ""), err=True)
        elif isinstance(item, Observation) and not quiet:
            mark = " (half-open)" if item.half_open else ""
            click.echo(f"{iso(item.at)}  {name}: browser check {item.kind}{mark}: {item.detail} ({item.duration_s:.1f} s)", err=True)
        elif isinstance(item, str) and not quiet:
            click.echo(f"{name}: {item}", err=True)

    return on_check


@click.command()
@click.argument("targets", nargs=-1, metavar="TARGET...")
@click.option("-f", "--file", "watch_file", type=click.Path(dir_okay=False, path_type=Path), metavar="WATCHFILE", help="A watch file (YAML): targets with their intervals, thresholds, alerts, maintenance windows.")
@click.option("--url", type=URL, metavar="URL", help="Override the base URL of the targets given here.")
@click.option("--every", type=DURATION, default="5m", show_default=True, help="Browser check interval.")
@click.option("--probe-every", type=DURATION, default="1m", show_default=True, help="Status page and API probe interval.")
@click.option("--max-every", type=DURATION, default="1h", show_default=True, help="Cap of the back-off while down.")
@click.option("--down-after", type=click.IntRange(1, 100), default=2, show_default=True, help="Failed checks that confirm down.")
@click.option("--up-after", type=click.IntRange(1, 100), default=2, show_default=True, help="Good checks that confirm up.")
@click.option("--slow", type=DURATION, default=None, help="An answer slower than this is degraded.")
@click.option("--remind-every", "remind", type=DURATION, default=None, help="While down, alert again this long after the last alert (default: never).")
@click.option("--once", is_flag=True, help="One round (for cron or a Kubernetes CronJob); the state is kept in the database between rounds.")
@click.option("--for", "duration", type=DURATION, default=None, help="Stop after this long (default: until Ctrl-C or SIGTERM).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="The history database (default $XDG_STATE_HOME/assistant/watch.sqlite3).")
@click.option("--webhook", "webhooks", multiple=True, metavar="URL", help="POST each alert: URL (JSON), slack:URL or ntfy:URL (repeatable).")
@click.option("--on-change", "commands", multiple=True, metavar="CMD", help="Run CMD on each alert, the event as JSON on standard input (repeatable).")
@click.option("--notify", "apprise_urls", multiple=True, metavar="URL", help="An Apprise URL (needs the `notify` extra; repeatable).")
@click.option("--metrics-textfile", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Write Prometheus metrics to FILE (node_exporter textfile collector).")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None, metavar="PORT", help="Serve Prometheus metrics on 127.0.0.1:PORT (needs the `metrics` extra).")
@click.option("--kuma", metavar="URL", help="An Uptime Kuma push URL, called after every check.")
@click.option("--gatus", metavar="URL", help="A Gatus external-endpoint URL (token in ASSISTANT_GATUS_TOKEN).")
@click.option("--concurrency", type=click.IntRange(1, 32), default=2, show_default=True, help="Browser checks running at the same time.")
@click.option("--restart-every", type=click.IntRange(1, 100000), default=50, show_default=True, help="Restart the browser every K checks.")
@click.option("--time-scale", type=TIME_SCALE, default=1.0, envvar="ASSISTANT_TIME_SCALE", metavar="F", help="Multiply every wait by F.")
@click.option("-q", "--quiet", is_flag=True, help="Print state changes only.")
@click.option("--headed", is_flag=True, help="Show the browser window.")
@click.option("--browser-path", metavar="PATH", help="A Chromium/Chrome executable.")
@click.pass_context
def watch(ctx, targets, watch_file, url, every, probe_every, max_every, down_after, up_after, slow, remind, once, duration, db,
          webhooks, commands, apprise_urls, metrics_textfile, metrics_port, kuma, gatus, concurrency, restart_every,
          time_scale, quiet, headed, browser_path) -> None:
    """Watch chats over hours and days: states, incidents, a circuit breaker, alerts.

    TARGET is a site profile (the check: open, new chat, send, expect the reply on the
    5/10/30 s schedule, then every feature the profile names) or a playbook. Down is
    confirmed after --down-after failed checks, up after --up-after good ones; while
    down the browser checks back off (x2 up to --max-every) and the status page and API
    probes go on; either turning good triggers one browser check at once. Exit code
    (with --once or --for): 1 when a target is down or degraded, else 0.
    """
    import asyncio

    from assistant.watch.alerts import Alerter, Webhook
    from assistant.watch.checks import BrowserKeeper
    from assistant.watch.history import History, default_path
    from assistant.watch.loop import WatchClock, Watcher, exit_state
    from assistant.watch.metrics import Metrics
    from assistant.watch.states import Policy

    policy = Policy(every, probe_every, down_after, up_after, max_every, slow, remind)
    hooks = [Webhook.parse(w) for w in webhooks]
    found, on_change = _targets(targets, url, policy, watch_file)
    history = History(db or default_path())
    try:
        metrics = Metrics(metrics_textfile, metrics_port, kuma, gatus) if (metrics_textfile or metrics_port or kuma or gatus) else None
        alerter = Alerter(hooks, [*commands, *on_change], apprise_urls)
        watcher = Watcher(found, history, alerter, WatchClock(time_scale), BrowserKeeper(headless=not headed, browser_path=browser_path,
                          restart_every=restart_every), concurrency=concurrency, metrics=metrics, on_check=_narrate(quiet))
        if once:
            states = asyncio.run(watcher.once())
        else:
            asyncio.run(watcher.run(duration))
            states = {n: t.state for n, t in watcher.trackers.items()}
        for problem in alerter.failures + (metrics.failures if metrics else []):
            click.echo(f"warning: {problem}", err=True)
    finally:
        history.close()
    policies = {t.name: t.policy for t in watcher.targets}
    click.echo("  ".join(f"{n}: {s}{_pending(watcher.trackers.get(n), policies.get(n, policy))}" for n, s in states.items()), err=True)
    ctx.exit(exit_state(states))


def _pending(tracker, policy) -> str:
    """What a state still waits for: `unknown (1 of 2 checks to confirm up)`."""
    if tracker is None or not tracker.streak or tracker.streak_class not in ("up", "down", "degraded", "answering"):
        return ""
    wanted = "up" if tracker.streak_class == "answering" else tracker.streak_class
    need = policy.down_after if wanted == "down" else policy.up_after
    return f" ({len(tracker.streak)} of {need} checks to confirm {wanted})"


@click.command()
@click.argument("target", required=False)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="The history database (default $XDG_STATE_HOME/assistant/watch.sqlite3).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), metavar="FILE", help="Write the history as JSON to FILE (- for standard output).")
@click.option("--html", "html_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR", help="Write DIR/index.html: the timeline, incidents and uptime.")
@click.pass_context
def history(ctx, target, db, json_path, html_dir) -> None:
    """The watch's history: incidents, and uptime over 24 h, 7 d and 30 d."""
    from assistant.watch.history import History, default_path
    from assistant.watch.page import summary, write_html

    path = db or default_path()
    if not path.is_file():
        raise UsageError(f"no watch history at {path}: run `assistant watch` first, or give the file with --db FILE.")
    store = History(path)
    try:
        if target and target not in store.targets():
            known = ", ".join(store.targets()) or "none yet"
            raise UsageError(f"{target!r} is not in the history {path}; targets: {known}.")
        data = summary(store, target)
        if json_path is not None:
            _write_json(json_path, data)
        if html_dir is not None:
            click.echo(f"wrote {write_html(store, html_dir, target)}", err=True)
    finally:
        store.close()
    if json_path is None or str(json_path) != "-":
        _print(data)
    ctx.exit(int(ExitCode.OK))


def _write_json(path: Path, data: dict) -> None:
    import json

    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if str(path) == "-":
        click.echo(text, nl=False)
        return
    from assistant.report.json_report import write_json

    write_json(path, data)


def _print(data: dict) -> None:
    for t in data["targets"]:
        up = ", ".join(f"{k} {'-' if v is None else f'{v * 100:.2f}%'}" for k, v in t["uptime"].items())
        since = f" since {t['since']}" if t["since"] else ""
        checks = f"{t['checks']} check{'' if t['checks'] == 1 else 's'}"
        click.echo(f"{t['name']}: {t['state']}{since}; uptime {up}; {checks}")
        for inc in t["incidents"]:
            lag = inc.get("status_lag_s")
            said = (f"status page said {inc['status_indicator']} {abs(lag) / 60:.0f} min {'after' if lag >= 0 else 'before'} the first failure"
                    if lag is not None else "status page said nothing")
            back = "; ".join(f"{k} back {v['back_at'] or 'not yet'}" for k, v in inc["features"].items())
            click.echo(f"  incident {inc['id']}: {inc['kind']} ({inc['category']}) first failed {inc['first_failed_at']}, "
                       f"confirmed {inc['confirmed_at']}, recovered {inc['recovered_at'] or 'not yet'}; {said}"
                       + (f"; {back}" if back else "") + (f"; answering meanwhile: {', '.join(inc['answering'])}" if inc["answering"] else ""))
