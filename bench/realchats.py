"""Real chats, measured: framework x busy form x language x (generic, probe-site draft).

For each cell the app is busy once, then answers; the run uses the 5/10/30 s schedule
(scaled). Printed per framework and reader: recall (busy attempts judged busy or
rate_limited), false alarms (answers, including one that talks about busy servers, judged
busy), recoveries (busy runs that got back to the answer), and the median time from the
busy text appearing in the page to the decision (a MutationObserver in the page stamps the
first appearance; the decision is stamped in the page as soon as it is made).

Usage: python bench/realchats.py [gradio streamlit chainlit]  (needs `chats.py setup`)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.events import Emitter  # noqa: E402
from assistant.playbook import load_playbook  # noqa: E402
from assistant.runner import Runner  # noqa: E402
from assistant.timing.clock import Clock  # noqa: E402
from tests.test_realchats import chats  # noqa: E402

PLAYBOOK = """
site: {site}
steps:
  - open: /
  - send: "Reply with the single word: pong"
  - expect_reply: {{contains: pong, timeout: 20s, retry: {{schedule: [5s, 10s, 30s]}}}}
"""
BUSY = {"en": "Server busy", "zh": "服务器繁忙", "rate": "too quickly"}
# Stamps the moment a busy text first shows anywhere in the page (shadow roots included).
STAMP_JS = """(() => {
  const words = WORDS;
  const look = () => { if (window.__busyAt) return; const t = document.body ? document.body.innerText : '';
    if (words.some(w => t.includes(w))) window.__busyAt = performance.now(); };
  new MutationObserver(look).observe(document, {subtree: true, childList: true, characterData: true});
})()""".replace("WORDS", json.dumps(list(BUSY.values())))


def run_cell(app, site: str, folder: Path) -> tuple[list[str], list[float]]:
    path = folder / "pb.yaml"
    path.write_text(textwrap.dedent(PLAYBOOK.format(site=site)), encoding="utf-8")
    playbook = load_playbook(path, url=app.url)
    runner = Runner(playbook, emit=Emitter(lambda e: None), clock=Clock(0.001), artifacts_dir=folder / "artifacts")
    gaps: list[float] = []
    result = asyncio.run(_run_with_stamps(runner, gaps))
    step = next(s for s in result.steps if s.name == "expect_reply")
    return [a.outcome for a in step.attempts], gaps


async def _run_with_stamps(runner, gaps):
    from assistant.chat import watch

    decide = watch.ReplyWatch.run

    async def timed(self, timeout):
        result = await decide(self, timeout)
        try:
            busy_at, now = await self.page.evaluate("() => [window.__busyAt || null, performance.now()]")
            if busy_at is not None and result.outcome in ("busy", "rate_limited"):
                gaps.append((now - busy_at) / 1000)
            await self.page.evaluate("() => { window.__busyAt = null; }")
        except Exception:
            pass
        return result

    watch.ReplyWatch.run = timed
    try:
        from assistant.browser.session import BrowserSession

        setup = BrowserSession.setup_context

        async def with_stamp(self, *args, **kwargs):
            context = await setup(self, *args, **kwargs)
            await context.add_init_script(STAMP_JS)
            return context

        BrowserSession.setup_context = with_stamp
        try:
            return await runner.run()
        finally:
            BrowserSession.setup_context = setup
    finally:
        watch.ReplyWatch.run = decide


def draft_for(app, folder: Path) -> str:
    target = folder / "draft.yaml"
    done = subprocess.run([sys.executable, "-m", "assistant", "probe-site", app.url, "--save", str(target), "--timeout", "30"],
                          capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise SystemExit(f"probe-site failed on {app.name} ({app.url}), exit {done.returncode}:\n{done.stderr}")
    return str(target)


def main(names: list[str]) -> None:
    print(f"{'framework':<10} {'reader':<8} {'recall':>8} {'false alarms':>13} {'recoveries':>11} {'median busy->decision':>22}")
    for name in names:
        with chats.start(name, env={"CHAT_MODE": "answer"}, timeout=180) as app, tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            readers = {"generic": "generic", "draft": draft_for(app, folder)}
            for reader, site in readers.items():
                busy_total = busy_hit = alarms = answers = runs = recovered = 0
                gaps: list[float] = []
                for form in ("error", "message"):
                    for lang in ("en", "zh"):
                        app.reset(mode="busy", busy_n=1, busy_form=form, lang=lang)
                        outcomes, cell_gaps = run_cell(app, site, folder)
                        gaps += cell_gaps
                        runs += 1
                        busy_total += 1
                        busy_hit += outcomes[0] in ("busy", "rate_limited")
                        recovered += outcomes[-1] == "answered"
                for mode in ("answer", "busy_talk"):
                    app.reset(mode=mode)
                    outcomes, _ = run_cell(app, site, folder)
                    answers += 1
                    alarms += outcomes[0] in ("busy", "rate_limited")
                median = f"{statistics.median(gaps) * 1000:.0f} ms" if gaps else "n/a"
                print(f"{name:<10} {reader:<8} {busy_hit}/{busy_total:<6} {alarms}/{answers:<11} {recovered}/{runs:<9} {median:>22}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(chats.NAMES))
