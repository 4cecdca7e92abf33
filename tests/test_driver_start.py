"""`assistant run` starts Playwright's driver while the playbook loads (assistant/browser/driver.py):
the driver gets the session's scratch folder as its TMPDIR, the run's session takes it instead
of starting another, and a command that ends without a run leaves no driver and no folder.
"""

from __future__ import annotations

import os
import select
from pathlib import Path

import pytest

from assistant.browser import BrowserSession, driver

pytestmark = pytest.mark.browser


def drivers() -> dict[int, dict[str, str]]:
    """This process's Playwright driver children: pid -> environment."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) != os.getpid() or b"run-driver" not in (proc / "cmdline").read_bytes():
                continue
            pairs = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        found[int(proc.name)] = dict(p.decode(errors="replace").split("=", 1) for p in pairs if b"=" in p)
    return found


def gone(pid: int, seconds: float = 5) -> bool:
    """Whether process `pid` has ended (within `seconds`): waits on its pidfd, which turns
    readable as it exits, not on a timer."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)


def test_the_early_driver_starts_in_the_scratch_folder_and_a_discard_removes_both():
    before = set(drivers())
    driver.start_early()
    try:
        started = driver._early
        assert started is not None
        new = {pid: env for pid, env in drivers().items() if pid not in before}
        assert len(new) == 1, new  # spawned already: its environment was read with TMPDIR set
        [(pid, env)] = new.items()
        assert env["TMPDIR"] == started.scratch and Path(started.scratch).is_dir()
        assert os.environ.get("TMPDIR") != started.scratch  # ours is put back at once
    finally:
        driver.discard_early()
    assert not Path(started.scratch).exists()
    assert gone(pid), "the early driver still runs after discard"
    assert driver.take_early() is None and driver._early is None
    driver.discard_early()  # twice is fine


def test_the_run_session_takes_the_early_driver():
    before = set(drivers())
    driver.start_early()
    scratch = driver._early.scratch

    async def main():
        async with BrowserSession() as session:
            taken = session._scratch
            page = await (await session.new_context()).new_page()
            await page.set_content("<p>ok</p>")
            return taken, await page.text_content("p"), [p for p in drivers() if p not in before]

    taken, text, running = driver.run(main())
    assert (taken, text) == (scratch, "ok")
    assert len(running) == 1  # one driver: the early one, not a second
    assert driver._early is None and not Path(scratch).exists()
    assert gone(running[0])


def test_without_begin_run_is_asyncio_run():
    async def main():
        return driver.take_early()

    assert driver.run(main()) is None


@pytest.mark.parametrize("own_process", [False, True])
def test_only_the_console_scripts_own_process_freezes_its_heap_before_the_run(own_process):
    import gc

    gc.unfreeze()
    driver.start_early(own_process=own_process)

    async def main():
        return gc.get_freeze_count()

    try:
        frozen = driver.run(main())
    finally:
        gc.unfreeze()  # this test process goes on
    assert (frozen > 0) is own_process
