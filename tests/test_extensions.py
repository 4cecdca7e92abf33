"""Extensions: the fixtures load as unpacked extensions, profiles list theirs, and in real
headless Chromium the harmless fixtures leave the chat answering while the breaking ones
break it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant.browser.extensions import (
    Extension,
    ExtensionError,
    discover,
    fixture_extensions,
    launch_args,
    load_unpacked,
    read_json,
)
from assistant.browser.find import find_system_browser
from assistant.browser.session import LAUNCH_ARGS

FIXTURES = fixture_extensions()
HARMLESS = ("broad-permissions", "dark-style", "localized-name", "tab-logger", "word-counter")
BREAKING = ("block-stream", "disable-send", "lock-composer", "send-disabled", "strip-cookie")
NAMES = {
    "block-stream": ("Block Stream (fixture)", "1.0.0"),
    "broad-permissions": ("Broad Permissions (fixture)", "0.3.1"),
    "dark-style": ("Dark Style (fixture)", "1.0.0"),
    "disable-send": ("Disable Send (fixture)", "1.0.0"),
    "localized-name": ("Localized Name (fixture)", "1.0.1"),
    "lock-composer": ("Lock Composer (fixture)", "1.0.0"),
    "send-disabled": ("Send Disabled (fixture)", "1.0.0"),
    "strip-cookie": ("Strip Cookie (fixture)", "1.0.0"),
    "tab-logger": ("Tab Logger (fixture)", "2.0.0"),
    "word-counter": ("Word Counter (fixture)", "1.2.0"),
}
LOOPBACK = {"http://127.0.0.1/*", "http://localhost/*"}


def chromium_id(path: Path) -> str:
    """Written out independently of the module: sha256 of the path, a-p for 0-f."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return digest.translate(str.maketrans("0123456789abcdef", "abcdefghijklmnop"))


# -- the fixtures, read from disk ----------------------------------------------------------


def test_every_fixture_is_there():
    assert sorted(FIXTURES) == sorted(HARMLESS + BREAKING)
    assert all(path.is_absolute() for path in FIXTURES.values())


@pytest.mark.parametrize("name", sorted(NAMES))
def test_load_unpacked_reads_each_fixture(name):
    ext = load_unpacked(FIXTURES[name])
    assert (ext.name, ext.version) == NAMES[name]
    assert ext.id == chromium_id(FIXTURES[name])
    assert (ext.path, ext.enabled, ext.source) == (FIXTURES[name].resolve(), True, "unpacked")


@pytest.mark.parametrize("name", sorted(NAMES))
def test_fixtures_ask_for_loopback_only(name):
    manifest = read_json(FIXTURES[name] / "manifest.json")  # send-disabled's carries comments
    assert manifest["manifest_version"] == 3
    hosts = set(manifest.get("host_permissions", []))
    for script in manifest.get("content_scripts", []):
        hosts |= set(script["matches"])
    assert hosts == ({"<all_urls>"} if name == "broad-permissions" else LOOPBACK)


def test_a_manifest_key_fixes_the_id(tmp_path):
    raw = bytes(range(200))  # Chromium takes any bytes here; checked by hand in Chromium 156
    (tmp_path / "manifest.json").write_text(json.dumps({"name": "K", "version": "1", "key": base64.b64encode(raw).decode()}))
    assert load_unpacked(tmp_path).id == "bjabnkbmjpgjjleipglcgdgogfmlphdk"


BAD_MANIFESTS = [
    pytest.param(None, "has no manifest.json", id="missing"),
    pytest.param("{not json", "cannot be read as JSON", id="invalid-json"),
    pytest.param('{"name": "X", "version": "1",}', "a trailing comma: Chromium refuses those too", id="trailing-comma"),
    pytest.param('{"name": "X", "version": "1"} /* open', "a /* comment that never ends", id="open-comment"),
    pytest.param("[1, 2]", "must hold a JSON object", id="not-an-object"),
    pytest.param('{"version": "1.0"}', "has no 'name'", id="no-name"),
    pytest.param('{"name": "X", "version": " "}', "has no 'version'", id="blank-version"),
    pytest.param('{"name": "__MSG_n__", "version": "1"}', "has no message 'n'", id="msg-without-locales"),
    pytest.param('{"name": "X", "version": "1", "key": "!!"}', "not base64", id="bad-key"),
]


@pytest.mark.parametrize(("text", "problem"), BAD_MANIFESTS)
def test_bad_manifests_say_where_and_what(tmp_path, text, problem):
    if text is not None:
        (tmp_path / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(ExtensionError, match=re.escape(problem)) as caught:
        load_unpacked(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_localized_names_match_keys_case_insensitively(tmp_path):
    write_extension(tmp_path, "__MSG_AppTitle__", "1", messages={"apptitle": "Found"})
    assert load_unpacked(tmp_path).name == "Found"


# -- discover(): synthetic profiles ----------------------------------------------------------

A, B, C, L, COMP, GONE, UNP = (ch * 32 for ch in "abclmgu")


def write_extension(folder: Path, name: str, version: str, messages: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"manifest_version": 3, "name": name, "version": version}
    if messages:
        manifest["default_locale"] = "en"
        (folder / "_locales" / "en").mkdir(parents=True)
        body = {key: {"message": text} for key, text in messages.items()}
        (folder / "_locales" / "en" / "messages.json").write_text(json.dumps(body), encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def write_profile(profile: Path, elsewhere: Path) -> None:
    """A profile with one extension of each kind discover() must tell apart."""
    installed = profile / "Extensions"
    write_extension(installed / A / "1.9.0_0", "Alpha", "1.9.0")
    write_extension(installed / A / "1.10.0_0", "Alpha", "1.10.0")  # the latest by number
    write_extension(installed / B / "2.0_0", "bravo", "2.0")
    write_extension(installed / C / "3_0", "Charlie", "3")
    write_extension(installed / L / "1_0", "__MSG_extName__", "1", messages={"extName": "Lima"})
    write_extension(installed / COMP / "1_0", "Component Thing", "1")
    (installed / "Temp").mkdir()
    broken = installed / ("e" * 32) / "1_0"  # no name, no version: listed with why, not fatal
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text("{}")
    write_extension(elsewhere, "Unpacked One", "0.1")
    settings = {
        A: {"state": 1, "location": 1},
        B: {"state": 0, "location": 1},
        COMP: {"location": 5},
        UNP: {"location": 4, "path": str(elsewhere)},
        GONE: {"location": 4, "path": str(elsewhere.parent / "deleted")},
    }
    secure = {C: {"location": 1, "disable_reasons": [1]}}
    for file, entries in (("Preferences", settings), ("Secure Preferences", secure)):
        (profile / file).write_text(json.dumps({"extensions": {"settings": entries}}), encoding="utf-8")


EXPECTED = [  # (name, id, version, enabled, source), sorted by name
    ("Alpha", A, "1.10.0", True, "profile"),
    ("bravo", B, "2.0", False, "profile"),
    ("Charlie", C, "3", False, "profile"),
    ("e" * 32, "e" * 32, "?", True, "profile"),  # unreadable: the id stands in for the name
    ("Lima", L, "1", True, "profile"),
    ("Unpacked One", UNP, "0.1", True, "unpacked"),
]


def summary(found: list[Extension]) -> list[tuple]:
    return [(e.name, e.id, e.version, e.enabled, e.source) for e in found]


def test_discover_a_user_data_folder_uses_the_last_used_profile(tmp_path):
    udd = tmp_path / "User Data"
    write_profile(udd / "Profile 1", tmp_path / "dev" / "unpacked-one")
    write_extension(udd / "Default" / "Extensions" / ("d" * 32) / "1_0", "Not This Profile", "1")
    (udd / "Default" / "Preferences").write_text("{}")
    (udd / "Local State").write_text(json.dumps({"profile": {"last_used": "Profile 1"}}))
    found = discover(udd)
    assert summary(found) == EXPECTED
    assert found[0].path == udd.resolve() / "Profile 1" / "Extensions" / A / "1.10.0_0"
    assert found[-1].path == (tmp_path / "dev" / "unpacked-one").resolve()


def test_discover_a_user_data_folder_falls_back_to_default(tmp_path):
    write_profile(tmp_path / "Default", tmp_path / "dev" / "unpacked-one")
    (tmp_path / "Local State").write_text("{}")
    assert summary(discover(tmp_path)) == EXPECTED


def test_discover_a_bare_profile_folder(tmp_path):
    write_profile(tmp_path / "p", tmp_path / "dev" / "unpacked-one")
    found = discover(tmp_path / "p")
    assert summary(found) == EXPECTED
    assert [e.readable for e in found] == [True, True, True, False, True, True]
    assert "has no 'name'" in found[3].problem and str(found[3].path) in found[3].problem


def test_bisect_of_a_profile_says_which_extension_it_could_not_include(tmp_path):
    from click.testing import CliRunner

    from assistant.cli import cli

    folder = write_extension(tmp_path / "dev" / "commas", "Commas", "1")
    (folder / "manifest.json").write_text('{"manifest_version": 3, "name": "Commas", "version": "1",}', encoding="utf-8")
    prefs = {"extensions": {"settings": {UNP: {"location": 4, "path": str(folder)}}}}
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "Preferences").write_text(json.dumps(prefs), encoding="utf-8")
    out = CliRunner().invoke(cli, ["bisect", "simulator", "--profile", str(tmp_path / "p")])
    assert out.exit_code == 2, out.output  # nothing left to bisect: said before any browser starts
    assert f"cannot read {folder}" in out.output and "trailing comma" in out.output
    assert "Traceback" not in out.output


def test_discover_names_what_it_cannot_use(tmp_path):
    with pytest.raises(ExtensionError, match="neither a browser user-data folder"):
        discover(tmp_path)
    (tmp_path / "Local State").write_text("{}")
    with pytest.raises(ExtensionError, match="no Default profile"):
        discover(tmp_path)


# -- launch_args ----------------------------------------------------------------------------


def test_launch_args():
    assert launch_args([]) == []
    one, two = (load_unpacked(FIXTURES[n]) for n in ("dark-style", "tab-logger"))
    joined = f"{one.path},{two.path}"
    assert launch_args([one, two]) == [f"--disable-extensions-except={joined}", f"--load-extension={joined}"]
    assert launch_args([FIXTURES["dark-style"]]) == [f"--disable-extensions-except={one.path}", f"--load-extension={one.path}"]


def test_launch_args_refuse_a_comma(tmp_path):
    with pytest.raises(ExtensionError, match="comma"):
        launch_args([tmp_path / "a,b"])


# -- real Chromium against the simulator -----------------------------------------------------

PROMPT = "Reply with the single word: pong"
REPLY_SAYS_PONG = "document.querySelector('div.message--assistant .ds-markdown--block')?.innerText.includes('pong')"
MARKERS_JS = """() => ({
  dark: getComputedStyle(document.documentElement).getPropertyValue('--assistant-fixture-dark-style').trim(),
  counter: document.getElementById('assistant-fixture-word-counter')?.textContent ?? null,
  localized: document.documentElement.dataset.assistantFixtureLocalized ?? null,
  reply: document.querySelector('div.message--assistant .ds-markdown--block')?.textContent ?? null,
})"""


@dataclass
class ChatRun:
    """What one send showed: the answer, the stream requests, the extensions' traces."""

    answered: bool = False
    failures: list[str] = field(default_factory=list)
    stream_headers: list[dict] = field(default_factory=list)
    markers: dict = field(default_factory=dict)
    workers: list[str] = field(default_factory=list)
    discovered: list[Extension] = field(default_factory=list)  # discover() on the profile afterwards
    folder: str = ""


async def chat_with(sim, paths, *, wait_s: float) -> ChatRun:
    """Launch Chromium with copies of these extensions in a throwaway profile, send PROMPT, look.

    Copies, because Chromium writes indexed rulesets into a DNR extension's folder and the
    checkout must stay clean; each copy keeps its folder name under `ext/`. The copies, the
    profile and Chromium's scratch folder live in one temporary folder that is removed,
    and the browser closed, on every exit path.
    """
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from playwright.async_api import async_playwright

    run = ChatRun(folder=tempfile.mkdtemp(prefix="assistant-ext-test-"))
    scratch = Path(run.folder) / "tmp"
    scratch.mkdir()
    try:
        copies = [shutil.copytree(p, staged(run.folder, p)) for p in paths]
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                user_data_dir=str(Path(run.folder) / "profile"),
                executable_path=BROWSER.path,
                headless=True,
                args=[*LAUNCH_ARGS, *launch_args(copies)],
                ignore_default_args=["--disable-extensions"],
                env={**os.environ, "TMPDIR": str(scratch)},
            )
            try:
                # A cookie of our own, so strip-cookie has something to strip whatever the page sets.
                await context.add_cookies([{"name": "fixture_probe", "value": "1", "url": sim.url}])
                page = context.pages[0] if context.pages else await context.new_page()
                streams = []
                page.on("request", lambda r: streams.append(r) if "/api/v0/chat/completion" in r.url else None)
                page.on("requestfailed", lambda r: run.failures.append(f"{r.url} {r.failure}"))
                await page.goto(sim.url)
                await page.fill("textarea#chat-input", PROMPT)
                await page.click('div[role=button][aria-label="Send"]')
                try:
                    await page.wait_for_function(REPLY_SAYS_PONG, timeout=wait_s * 1000)
                    run.answered = True
                except PlaywrightTimeout:
                    pass
                run.stream_headers = [await r.all_headers() for r in streams]
                run.markers = await page.evaluate(MARKERS_JS)
                run.workers = [w.url for w in context.service_workers]
            finally:
                await context.close()
        run.discovered = discover(Path(run.folder) / "profile")
    finally:
        shutil.rmtree(run.folder, ignore_errors=True)
    return run


def staged(folder: str, path: Path) -> Path:
    """Where chat_with copies the extension at `path` inside its temporary `folder`."""
    return Path(folder) / "ext" / path.name


BROWSER = find_system_browser()


def needs_browser(test):
    """Real Chromium against the simulator; skipped where no system browser is installed."""
    test = pytest.mark.browser(test)
    return pytest.mark.skipif(BROWSER is None, reason="no system Chromium or Chrome found")(test)


def worker_of(run: ChatRun, name: str) -> str:
    return f"chrome-extension://{chromium_id(staged(run.folder, FIXTURES[name]))}/worker.js"


# Each harmless fixture leaves a trace, so "the chat answered" cannot pass because the
# extension silently failed to load.
TRACES = {
    "dark-style": lambda run: run.markers["dark"] == "on",
    "word-counter": lambda run: re.fullmatch(r"\d+ words", run.markers["counter"] or "") is not None,
    "localized-name": lambda run: run.markers["localized"] == "Localized Name (fixture)",
    "tab-logger": lambda run: worker_of(run, "tab-logger") in run.workers,
    "broad-permissions": lambda run: worker_of(run, "broad-permissions") in run.workers,
}


@needs_browser
@pytest.mark.parametrize("name", HARMLESS)
def test_a_harmless_fixture_leaves_the_chat_answering(sim, name):
    run = asyncio.run(chat_with(sim, [FIXTURES[name]], wait_s=15))
    assert run.answered, f"{name}: no pong; failed requests: {run.failures}"
    assert TRACES[name](run), f"{name} left no trace, so it was probably not loaded: {run}"
    assert sim.completions == 1


@needs_browser
def test_all_harmless_fixtures_together_leave_the_chat_answering(sim):
    run = asyncio.run(chat_with(sim, [FIXTURES[n] for n in HARMLESS], wait_s=15))
    assert run.answered, f"no pong; failed requests: {run.failures}"
    assert all(trace(run) for trace in TRACES.values()), run
    # Chromium records them in Preferences as command-line (location 8) extensions, next to
    # its PDF viewer (a component): neither is the profile's own, so discover() lists none.
    assert run.discovered == []
    assert not Path(run.folder).exists(), "the temporary profile was left behind"
    assert not chromium_mentioning(run.folder), "a Chromium process outlived the test"


@needs_browser
def test_block_stream_fails_the_completion_request(sim):
    run = asyncio.run(chat_with(sim, [FIXTURES["block-stream"]], wait_s=3))
    assert not run.answered
    assert any("/api/v0/chat/completion" in f and "ERR_BLOCKED_BY_CLIENT" in f for f in run.failures), run.failures
    assert sim.completions == 0  # blocked in the browser: the server never heard of it


@needs_browser
def test_disable_send_hides_the_reply_that_did_arrive(sim):
    run = asyncio.run(chat_with(sim, [FIXTURES["disable-send"]], wait_s=3))
    assert not run.answered
    assert sim.completions == 1
    assert run.markers["reply"] == "pong"  # in the DOM, but hidden from the person and innerText


@needs_browser
def test_strip_cookie_sends_the_stream_without_its_credentials_and_breaks_the_chat(sim):
    run = asyncio.run(chat_with(sim, [FIXTURES["strip-cookie"]], wait_s=5))
    assert run.stream_headers, "no completion request was sent"
    for headers in run.stream_headers:
        assert headers.get("x-assistant-fixture") == "strip-cookie"
        assert "cookie" not in headers and "authorization" not in headers
    assert not run.answered  # the server refuses a web send without its token


@needs_browser
def test_chromium_gives_the_ids_load_unpacked_computes(sim, tmp_path):
    keyed = shutil.copytree(FIXTURES["tab-logger"], tmp_path / "keyed")
    manifest = json.loads((keyed / "manifest.json").read_text(encoding="utf-8"))
    manifest["key"] = base64.b64encode(os.urandom(64)).decode()
    (keyed / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    run = asyncio.run(chat_with(sim, [FIXTURES["tab-logger"], FIXTURES["broad-permissions"], keyed], wait_s=15))
    # load_unpacked on the folders Chromium loaded (gone now, so recreate them at those paths)
    expected = []
    for original in (FIXTURES["tab-logger"], FIXTURES["broad-permissions"], keyed):
        shutil.copytree(original, staged(run.folder, original))
        expected.append(f"chrome-extension://{load_unpacked(staged(run.folder, original)).id}/worker.js")
    shutil.rmtree(run.folder)
    assert sorted(run.workers) == sorted(expected)


def chromium_mentioning(text: str) -> list[str]:
    """Processes whose command line mentions `text` (Linux /proc; elsewhere, none known)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if text.encode() in (proc / "cmdline").read_bytes():
                found.append(proc.name)
        except OSError:
            continue
    return found
