"""Extensions as people have them: manifests read as Chromium itself reads them, a profile's
"Load unpacked" and turned-off extensions listed as Chromium lists them, and real
extensions (vendored from their source) bisected with one breaking fixture at a time,
including interference that starts a second after the page loads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.browser import BrowserSession
from assistant.browser.extensions import (
    ExtensionError,
    discover,
    fixture_extensions,
    load_unpacked,
    real_extensions,
)
from assistant.browser.find import find_system_browser
from assistant.cli import cli
from assistant.experiments.bisect import launch_budget
from assistant.experiments.extensions import find_culprits
from assistant.experiments.trial import Check, Trial
from assistant.playbook import load_site
from assistant.playbook.site import rebase

FIXTURES, REAL = fixture_extensions(), real_extensions()
BROWSER = find_system_browser()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(BROWSER is None, reason="no system Chromium or Chrome found")]
CHECK = Check(timeout=4.0, send_timeout=3.0)  # the simulator answers at once; locks show within these
INFO_JS = "() => new Promise(r => chrome.developerPrivate.getExtensionsInfo({includeDisabled: true, includeTerminated: true}, r))"


def test_two_real_extensions_are_vendored_with_their_licences():
    assert sorted(REAL) == ["isdcac", "vimium"]
    assert (REAL["vimium"] / "MIT-LICENSE.txt").is_file() and (REAL["isdcac"] / "COPYING").is_file()
    assert "//" in (REAL["vimium"] / "manifest.json").read_text(encoding="utf-8")  # a commented manifest, as shipped
    assert load_unpacked(REAL["vimium"]).name == "Vimium"
    assert load_unpacked(REAL["isdcac"]).name == "I still don't care about cookies"  # from _locales/en
    size = sum(f.stat().st_size for f in REAL["vimium"].parent.rglob("*") if f.is_file())
    assert size < 5_000_000


# -- manifests: what Chromium loads, the tool reads ------------------------------------------

TAIL = '"version": "1.0", "background": {"service_worker": "w.js"}'
MANIFESTS = {  # folder -> manifest.json text; Chromium decides which of them load
    "plain": '{"manifest_version": 3, "name": "plain", ' + TAIL + '}',
    "line-comment": '// hi\n{"manifest_version": 3, // c\n "name": "line-comment", ' + TAIL + '} // end',
    "block-comment": '/* a\n b */{"manifest_version": 3, /* c /* d */ "name": "block-comment", ' + TAIL + '}',
    "comment-in-string": '{"manifest_version": 3, "name": "a // b /* c */", ' + TAIL + '}',
    "bom": '\ufeff{"manifest_version": 3, "name": "bom", ' + TAIL + '}',
    "x-escape": '{"manifest_version": 3, "name": "x\\x41", ' + TAIL + '}',
    "trailing-comma": '{"manifest_version": 3, "name": "trailing-comma", ' + TAIL + ',}',
    "trailing-comma-list": '{"manifest_version": 3, "name": "tcl", "permissions": ["storage",], ' + TAIL + '}',
    "trailing-bom": '{"manifest_version": 3, "name": "trailing-bom", ' + TAIL + '}\ufeff',
    "open-comment": '{"manifest_version": 3, "name": "open-comment", ' + TAIL + '} /* open',
    "tab-in-string": '{"manifest_version": 3, "name": "tab\there", ' + TAIL + '}',  # a raw tab
    "hash-comment": '# no\n{"manifest_version": 3, "name": "hash-comment", ' + TAIL + '}',
    "msg-commented": '{"manifest_version": 3, "name": "__MSG_n__", "default_locale": "en", ' + TAIL + '}',
    "msg-trailing-comma": '{"manifest_version": 3, "name": "__MSG_n__", "default_locale": "en", ' + TAIL + '}',
}
MESSAGES = {"msg-commented": '\ufeff// c\n{"n": {"message": "msg-commented" /* x */}}', "msg-trailing-comma": '{"n": {"message": "m"},}'}


def write_variants(root: Path) -> dict[str, Path]:
    folders = {}
    for name, text in MANIFESTS.items():
        folder = folders[name] = root / name
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(text, encoding="utf-8")
        (folder / "w.js").write_text("", encoding="utf-8")
        if name in MESSAGES:
            (folder / "_locales" / "en").mkdir(parents=True)
            (folder / "_locales" / "en" / "messages.json").write_text(MESSAGES[name], encoding="utf-8")
    return folders


async def chromium_lists(user_data: Path, load=(), args=(), then=None) -> list[dict]:
    """What chrome://extensions itself reports in a real Chromium on `user_data`."""
    from playwright.async_api import async_playwright

    joined = ",".join(str(p) for p in load)
    flags = [f"--disable-extensions-except={joined}", f"--load-extension={joined}"] if load else []
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(user_data), executable_path=BROWSER.path, headless=True, args=[*flags, *args],
            ignore_default_args=["--disable-extensions"])
        try:
            if then:
                await then(context)
            page = context.pages[0] if context.pages else await context.new_page()
            await page.goto("chrome://extensions")
            return [i for i in await page.evaluate(INFO_JS) if i["location"] != "UNKNOWN"]  # not the PDF viewer
        finally:
            await context.close()


def test_manifests_are_read_as_chromium_reads_them(tmp_path):
    folders = write_variants(tmp_path / "ext")
    loaded = {i["id"] for i in asyncio.run(chromium_lists(tmp_path / "profile", folders.values()))}
    chromium = {name: load_unpacked_id(folder) in loaded for name, folder in folders.items()}
    tool = {}
    for name, folder in folders.items():
        try:
            tool[name] = load_unpacked(folder).id == load_unpacked_id(folder)
        except ExtensionError:
            tool[name] = False
    assert tool == chromium  # what the tool reads, Chromium loads, and the other way round
    assert {n for n, ok in chromium.items() if ok} == {
        "plain", "line-comment", "block-comment", "comment-in-string", "bom", "x-escape", "msg-commented"}
    assert load_unpacked(folders["x-escape"]).name == "xA" and load_unpacked(folders["msg-commented"]).name == "msg-commented"


def load_unpacked_id(folder: Path) -> str:
    """The id Chromium gives an unpacked folder, written out independently of the module."""
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:32]
    return digest.translate(str.maketrans("0123456789abcdef", "abcdefghijklmnop"))


# -- a profile: "Load unpacked", one turned off ------------------------------------------------


def test_a_profile_lists_every_extension_chromium_lists(tmp_path):
    folders = [shutil.copytree(FIXTURES[n], tmp_path / "dev" / n) for n in ("dark-style", "tab-logger", "send-disabled")]
    folders.append(shutil.copytree(REAL["vimium"], tmp_path / "dev" / "vimium"))

    async def install(context) -> None:  # "Load unpacked", then the switch in chrome://extensions turned off
        cdp = await context.browser.new_browser_cdp_session()
        ids = [(await cdp.send("Extensions.loadUnpacked", {"path": str(f)}))["id"] for f in folders]
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto("chrome://extensions")
        await page.evaluate("id => new Promise(r => chrome.management.setEnabled(id, false, r))", ids[1])

    profile = tmp_path / "User Data"
    chromium = asyncio.run(chromium_lists(profile, args=["--enable-unsafe-extension-debugging"], then=install))
    said = sorted((i["id"], i["name"], i["version"], i["state"] == "ENABLED", i["location"]) for i in chromium)
    found = discover(profile)
    assert sorted((e.id, e.name, e.version, e.enabled, "UNPACKED") for e in found) == said
    assert len(said) == 4 and sum(not s[3] for s in said) == 1  # Tab Logger is the one turned off
    out = CliRunner().invoke(cli, ["extensions", str(profile)])
    assert out.exit_code == 0, out.output
    for ext_id, name, version, enabled, _ in said:
        assert f"  {ext_id}  {name}  {version}  {'enabled' if enabled else 'disabled'}" in out.output
    # One the tool cannot read stays on the list, with why.
    (folders[0] / "manifest.json").write_text('{"manifest_version": 3, "name": "x", "version": "1",}', encoding="utf-8")
    out = CliRunner().invoke(cli, ["extensions", str(profile)])
    assert out.exit_code == 0 and out.output.startswith("4 extension(s)"), out.output
    assert "trailing comma" in out.output and "cannot be read" in out.output


# -- bisection: real extensions plus one breaking fixture ------------------------------------

SYMPTOMS = [
    pytest.param(None, None, id="real-alone"),
    pytest.param("block-stream", "ERR_BLOCKED_BY_CLIENT|went wrong", id="network-block"),
    pytest.param("disable-send", "reply_hidden", id="hidden-reply"),
]  # a composer locked after a second: the diagnose test below; a send disabled: the CLI one


@pytest.mark.parametrize(("breaking", "symptom"), SYMPTOMS)
def test_bisect_names_the_breaking_one_among_real_extensions(sim, breaking, symptom):
    exts = [load_unpacked(p) for p in REAL.values()] + ([load_unpacked(FIXTURES[breaking])] if breaking else [])
    site = rebase(load_site("simulator"), sim.url)
    seen = []

    async def main():
        async with BrowserSession(headless=True, browser_path=BROWSER.path) as session:
            return await find_culprits(session, site, CHECK, exts, lambda n, subset, r: seen.append((subset, r)))

    found = asyncio.run(main())
    assert found.launches == len(seen) <= launch_budget(len(exts))
    if breaking is None:
        assert found.culprits == [] and found.launches == 1 and seen[0][1].passed
        return
    assert [e.name for e in found.culprits] == [exts[-1].name]
    failed = [r for subset, r in seen if not r.passed]
    assert failed and all(exts[-1] in subset for subset, r in seen if not r.passed)
    said = f"{failed[0].signal.extra.get('symptom')} {failed[0].signal.summary}"
    assert re.search(symptom, said), said


def test_bisect_names_an_extension_whose_manifest_has_comments(sim, tmp_path):
    report = tmp_path / "bisect.json"
    args = ["bisect", "simulator", "--url", sim.url, "--timeout", "4", "--json", str(report)]
    for path in (*REAL.values(), FIXTURES["send-disabled"]):
        args += ["--extension", str(path)]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 1, out.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [c["name"] for c in data["culprits"]] == ["Send Disabled (fixture)"]
    assert data["launches"] <= launch_budget(3)
    assert "breaks the chat" in out.output


def test_diagnose_convicts_the_extension_that_locks_the_composer_late(sim):
    from assistant.diagnosis.model import Setup
    from assistant.diagnosis.run import diagnose

    site = rebase(load_site("simulator"), sim.url)
    setup = Setup(extensions=(*REAL.values(), FIXTURES["lock-composer"]))
    verdict = diagnose(site, setup, CHECK, turns=1, time_scale=0.001, headless=True, browser_path=BROWSER.path,
                       listeners=[], json_path=None)
    assert verdict.category == "extension"
    assert [c["name"] for c in verdict.culprit] == ["Lock Composer (fixture)"]
    seen = [e.observation for e in verdict.evidence]
    # What the person would have seen: locked after the reply, or (on a slow machine) already before typing.
    assert any("the composer turned disabled" in line or "composer stays disabled" in line for line in seen), seen
    launches = [int(m[1]) for line in seen if (m := re.search(r"Lock Composer \(fixture\)' in (\d+) launches", line))]
    assert launches and launches[0] <= launch_budget(3), seen


# -- the check: a person's pace ---------------------------------------------------------------

COUNT_KEYS = "window.__keys = 0; addEventListener('keydown', () => window.__keys++, true);"


def test_a_site_profile_can_ask_for_typing_at_a_persons_pace(sim):
    site = dataclasses.replace(rebase(load_site("simulator"), sim.url), typing_delay=0.01)

    async def main():
        async with BrowserSession(headless=True, browser_path=BROWSER.path) as session:
            context = await session.new_context()
            await context.add_init_script(COUNT_KEYS)
            trial = Trial(context, site, CHECK, "paced")
            try:
                await trial.start()
                result = await trial.reproduce(1)
                return result, await trial.page.evaluate("window.__keys")
            finally:
                await trial.close()

    result, keys = asyncio.run(main())
    assert result.passed, result.describe()
    assert keys >= len(CHECK.prompt)  # one key at a time, then Enter or a click
