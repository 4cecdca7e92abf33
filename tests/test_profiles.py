"""Profiles: finding them, who holds them, copies for experiments, backups and an undoable restore.

The last tests drive real Chromium: its own lock while it runs, and a cookie that survives a copy.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from assistant.browser.backup import (
    backup_profile,
    backups_folder,
    list_backups,
    restore_profile,
    tree_digest,
)
from assistant.browser.find import find_system_browser
from assistant.browser.profiles import (
    copy_profile,
    load_storage_state,
    lock_holder,
    save_storage_state,
    user_data_dir_of,
)
from assistant.browser.session import LAUNCH_ARGS
from assistant.errors import EnvironmentProblem, UsageError

HOST = socket.gethostname()
OLD = 1_600_000_000  # an mtime in the past, so a restore that forgets mtimes shows
EXT = "Default/Extensions/abcdefghijklmnopabcdefghijklmnop/1.0_0/manifest.json"
KEPT = ("Local State", "Default/Preferences", "Default/Cookies", "Default/Local Storage/leveldb/000003.log",
        "Default/IndexedDB/https_chat.example_0.indexeddb.leveldb/CURRENT", EXT)
SKIPPED = ("Default/Cache/Cache_Data/data_0", "Default/Code Cache/js/index", "Default/GPUCache/data_1",
           "ShaderCache/data_0", "GrShaderCache/data_0", "Crashpad/settings.dat", "Default/Preferences.tmp")


def write(root: Path, rel: str, data: bytes | str = b"x") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def user_data(root: Path, last_used: str = "Default") -> Path:
    """A small Chromium-shaped user-data dir: what experiments need, caches, another profile."""
    write(root, "Local State", json.dumps({"profile": {"last_used": last_used}}))
    for rel in KEPT[1:] + SKIPPED:
        write(root, rel, f"contents of {rel}")
    write(root, "Profile 1/Preferences", "{}")
    write(root, "Profile 1/Cookies", "work account cookies")
    os.chmod(root / "Default/Cookies", 0o600)
    os.symlink("Preferences", root / "Default/Preferences.link")
    for path in sorted(root.rglob("*"), reverse=True):  # children first, so folders keep OLD too
        os.utime(path, (OLD, OLD), follow_symlinks=False)
    return root


def lock(folder: Path, target: str) -> None:
    os.symlink(target, folder / "SingletonLock")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def stats(root: Path) -> dict[str, tuple[int, int]]:
    """Mode and mtime of every entry, the root included."""
    found = {"": (root.lstat().st_mode, root.lstat().st_mtime_ns)}
    for path in root.rglob("*"):
        st = path.lstat()
        found[path.relative_to(root).as_posix()] = (st.st_mode, st.st_mtime_ns)
    return found


# --- where the profile is ------------------------------------------------------------------


def bare(tmp: Path) -> None:
    write(tmp, "Work/Preferences", "{}")


def bare_by_name(tmp: Path) -> None:
    (tmp / "Profile 3").mkdir()


@pytest.mark.parametrize(
    ("build", "given", "expected_dir", "expected_name", "is_bare"),
    [
        pytest.param(lambda t: user_data(t / "ud"), "ud", "ud", "Default", False, id="user-data-dir"),
        pytest.param(lambda t: user_data(t / "ud", "Profile 1"), "ud", "ud", "Profile 1", False, id="user-data-dir-last-used"),
        pytest.param(lambda t: user_data(t / "ud", "Profile 9"), "ud", "ud", "Default", False, id="last-used-gone"),
        pytest.param(lambda t: user_data(t / "ud"), "ud/Profile 1", "ud", "Profile 1", False, id="profile-dir"),
        pytest.param(bare, "Work", "Work", "Default", True, id="bare-profile"),
        pytest.param(bare_by_name, "Profile 3", "Profile 3", "Default", True, id="bare-by-name"),
    ],
)
def test_user_data_dir_of(tmp_path, build, given, expected_dir, expected_name, is_bare):
    build(tmp_path)
    found = user_data_dir_of(tmp_path / given)
    assert found == (tmp_path / expected_dir, expected_name)
    assert found.bare is is_bare


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda t: t.mkdir(), id="empty-folder"),
        pytest.param(lambda t: write(t.parent, t.name, "a file"), id="a-file"),
        pytest.param(lambda t: None, id="missing"),
    ],
)
def test_user_data_dir_of_refuses_other_folders(tmp_path, build):
    build(tmp_path / "thing")
    with pytest.raises(UsageError) as caught:
        user_data_dir_of(tmp_path / "thing")
    assert "thing" in str(caught.value) and "google-chrome" in str(caught.value)
    if (tmp_path / "thing").is_dir():
        assert "Local State" in str(caught.value) and "Preferences" in str(caught.value)


# --- who holds it --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param(lambda: f"{HOST}-{os.getpid()}", f"(pid {os.getpid()}) on this machine", id="live-pid"),
        pytest.param(lambda: f"{HOST}-{dead_pid()}", None, id="dead-pid"),
        pytest.param(lambda: "other-host.example-4242", "another computer (other-host.example)", id="other-host"),
        pytest.param(lambda: "garbage", "not <host>-<pid>", id="unreadable-lock"),
        pytest.param(lambda: None, None, id="no-lock"),
    ],
)
def test_lock_holder(tmp_path, target, expected):
    folder = user_data(tmp_path / "ud")
    if (link := target()) is not None:
        lock(folder, link)
        os.symlink("/nonexistent/SingletonSocket", folder / "SingletonSocket")  # left by a crash
    held = lock_holder(folder)
    assert held is None if expected is None else expected in held


@pytest.mark.parametrize("listening", [pytest.param(True, id="socket-answers"), pytest.param(False, id="socket-dead")])
def test_lock_holder_asks_the_socket_when_the_lock_is_gone(tmp_path, listening):
    folder = user_data(tmp_path / "ud")
    short = Path(tempfile.mkdtemp(prefix="asst-"))  # socket paths are limited to ~108 bytes
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(short / "SingletonSocket"))
            if listening:
                server.listen(1)
            os.symlink(short / "SingletonSocket", folder / "SingletonSocket")
            held = lock_holder(folder)
    finally:
        shutil.rmtree(short)
    assert (held is not None) is listening


# --- copies for experiments ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lock_target", "while_locked"),
    [
        pytest.param(None, False, id="idle"),
        pytest.param(f"{HOST}-{os.getpid()}", True, id="in-use"),
        pytest.param("stale", False, id="stale-lock"),
    ],
)
def test_copy_profile_keeps_site_data_and_skips_caches(tmp_path, lock_target, while_locked):
    source = user_data(tmp_path / "ud")
    if lock_target:
        lock(source, f"{HOST}-{dead_pid()}" if lock_target == "stale" else lock_target)
        os.symlink("17030512604016706193", source / "SingletonCookie")
    copy = copy_profile(source / "Default", tmp_path / "copy")
    assert (copy.path, copy.profile_name, copy.launch_args) == (tmp_path / "copy", "Default", ["--profile-directory=Default"])
    assert copy.copied_while_locked is while_locked
    digest, original = tree_digest(copy.path), tree_digest(source)
    assert all(digest[rel] == original[rel] for rel in KEPT)
    assert not [rel for rel in digest if rel in SKIPPED or "Singleton" in rel or rel.startswith("Profile 1")]
    assert stat.S_IMODE((copy.path / "Default/Cookies").stat().st_mode) == 0o600


def test_copy_of_a_bare_profile_becomes_default(tmp_path):
    write(tmp_path, "Work/Preferences", "{}")
    write(tmp_path, "Work/Cookies", "cookies")
    copy = copy_profile(tmp_path / "Work", tmp_path / "copy")
    assert copy.profile_name == "Default" and (copy.path / "Default/Cookies").read_text() == "cookies"
    assert user_data_dir_of(copy.path) == (copy.path, "Default")


@pytest.mark.parametrize(
    ("into", "message"),
    [pytest.param("copy", "not empty", id="not-empty"), pytest.param("ud/Default/copy", "inside the profile", id="inside-source")],
)
def test_copy_profile_wants_an_empty_folder_of_its_own(tmp_path, into, message):
    write(tmp_path, "copy/something")
    with pytest.raises(UsageError, match=message):
        copy_profile(user_data(tmp_path / "ud"), tmp_path / into)


# --- backup and restore --------------------------------------------------------------------


def delete_file(ud: Path) -> None:
    (ud / "Default/Cookies").unlink()


def add_file(ud: Path) -> None:
    write(ud, "Default/New Folder/new file", "added by an experiment")


def change_bytes(ud: Path) -> None:
    (ud / "Default/Preferences").write_text('{"changed": true}')


def change_mode(ud: Path) -> None:
    os.chmod(ud / "Default/Cookies", 0o644)


def change_symlink(ud: Path) -> None:
    (ud / "Default/Preferences.link").unlink()
    os.symlink("Cookies", ud / "Default/Preferences.link")


def all_at_once(ud: Path) -> None:
    for mutate in (delete_file, add_file, change_bytes, change_symlink):
        mutate(ud)
    shutil.rmtree(ud / "Default/Code Cache")


@pytest.mark.parametrize(
    "mutate",
    [pytest.param(m, id=m.__name__.replace("_", "-")) for m in (delete_file, add_file, change_bytes, change_mode, change_symlink, all_at_once)],
)
def test_restore_undoes_what_an_experiment_changed(tmp_path, mutate):
    ud = user_data(tmp_path / "ud")
    before_digest, before_stats = tree_digest(ud), stats(ud)
    folder = backup_profile(ud, tmp_path / "backups")
    assert (tree_digest(ud), stats(ud)) == (before_digest, before_stats)  # a backup changes nothing

    mutate(ud)
    changed = tree_digest(ud), stats(ud)
    assert changed != (before_digest, before_stats)
    assert restore_profile(folder) == ud.resolve()
    assert (tree_digest(ud), stats(ud)) == (before_digest, before_stats)
    [aside] = tmp_path.glob("ud.before-restore-*")  # the restore itself can be undone
    assert tree_digest(aside) == changed[0]


def test_backup_manifest_sits_beside_the_copy(tmp_path):
    ud = user_data(tmp_path / "ud")
    folder = backup_profile(ud, tmp_path / "backups")
    manifest = json.loads((folder / "assistant-backup.json").read_text())
    digest = tree_digest(ud)
    files = [rel for rel, kind in digest.items() if kind != "dir"]
    assert manifest["original"] == str(ud.resolve()) and manifest["created_at"].endswith("+00:00")
    assert manifest["sha256"] == digest and manifest["files"] == len(files)
    assert manifest["bytes"] == sum((ud / rel).lstat().st_size for rel in files)
    assert sorted(p.name for p in folder.iterdir()) == ["assistant-backup.json", "profile"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "assistant-backup.json").stat().st_mode) == 0o600
    second = backup_profile(ud / "Default", tmp_path / "backups")  # a profile dir backs up its user-data dir
    assert [b["path"] for b in list_backups(tmp_path / "backups")] == [str(folder), str(second)]
    assert "sha256" not in list_backups(tmp_path / "backups")[0]
    with pytest.raises(UsageError, match="inside the profile"):
        backup_profile(ud, ud / "backups")


def tamper_bytes(folder: Path) -> None:
    (folder / "profile/Default/Cookies").write_text("tampered")


def tamper_delete(folder: Path) -> None:
    (folder / "profile/Default/Preferences").unlink()


def tamper_add(folder: Path) -> None:
    write(folder, "profile/Default/extra", "smuggled in")


def tamper_manifest(folder: Path) -> None:
    (folder / "assistant-backup.json").write_text("{not json")


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        pytest.param(tamper_bytes, EnvironmentProblem, id="changed-bytes"),
        pytest.param(tamper_delete, EnvironmentProblem, id="missing-file"),
        pytest.param(tamper_add, EnvironmentProblem, id="extra-file"),
        pytest.param(tamper_manifest, UsageError, id="broken-manifest"),
    ],
)
def test_restore_refuses_a_tampered_backup_and_touches_nothing(tmp_path, tamper, error):
    ud = user_data(tmp_path / "ud")
    folder = backup_profile(ud, tmp_path / "backups")
    change_bytes(ud)
    now = tree_digest(ud), stats(ud)
    tamper(folder)
    with pytest.raises(error) as caught:
        restore_profile(folder)
    assert (tree_digest(ud), stats(ud)) == now
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backups", "ud"]
    assert "nothing was restored" in str(caught.value) or "not an assistant backup" in str(caught.value)


def test_backup_and_restore_refuse_a_profile_in_use(tmp_path):
    ud = user_data(tmp_path / "ud")
    folder = backup_profile(ud, tmp_path / "backups")
    lock(ud, f"{HOST}-{os.getpid()}")
    with pytest.raises(EnvironmentProblem, match="on this machine is using it") as caught:
        backup_profile(ud, tmp_path / "backups")
    assert "Close Chromium/Chrome first, or run on a copy without --in-place" in str(caught.value)
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [folder.name]
    with pytest.raises(EnvironmentProblem, match="Cannot restore"):
        restore_profile(folder)
    assert not list(tmp_path.glob("ud.before-restore-*"))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({"ASSISTANT_BACKUPS": "/srv/b"}, "/srv/b", id="env"),
        pytest.param({"XDG_DATA_HOME": "/data"}, "/data/assistant/backups", id="xdg"),
        pytest.param({"HOME": "/home/p"}, "/home/p/.local/share/assistant/backups", id="home"),
    ],
)
def test_backups_folder(monkeypatch, env, expected):
    for name in ("ASSISTANT_BACKUPS", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert backups_folder() == Path(expected)
    assert backups_folder("/given") == Path("/given")


# --- storage state -------------------------------------------------------------------------


def test_storage_state_is_private(tmp_path):
    write(tmp_path, "state.json", "old")
    os.chmod(tmp_path / "state.json", 0o644)
    state = {"cookies": [{"name": "session", "value": "secret"}], "origins": []}
    path = save_storage_state(state, tmp_path / "state.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_storage_state(path) == str(path) and json.loads(path.read_text()) == state
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(None, "No storage-state file", id="missing"),
        pytest.param('{"cookies": [', "not a readable JSON", id="not-json"),
        pytest.param('{"cookies": []}', "needs a `cookies` list and an `origins` list", id="no-origins"),
        pytest.param("[]", "not a Playwright storage state", id="a-list"),
    ],
)
def test_load_storage_state_says_what_is_wrong(tmp_path, text, message):
    if text is not None:
        write(tmp_path, "state.json", text)
    with pytest.raises(UsageError, match=message):
        load_storage_state(tmp_path / "state.json")


# --- real Chromium -------------------------------------------------------------------------

BROWSER = find_system_browser()
needs_chromium = pytest.mark.skipif(BROWSER is None, reason="no system Chromium or Chrome")
COOKIE = {"name": "probe", "value": "kept-through-the-copy", "url": "https://chat.example.test/", "expires": 4102444800}


@pytest.fixture
def launch():
    """Run `body(context)` in a persistent context of real Chromium; its scratch folder is removed after."""
    from playwright.async_api import async_playwright

    scratch = tempfile.mkdtemp(prefix="asst-")  # Chromium's singleton socket goes here

    async def run(user_data_dir: Path, body, extra_args=()):
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                str(user_data_dir), executable_path=BROWSER.path, args=[*LAUNCH_ARGS, *extra_args],
                headless=True, env={**os.environ, "TMPDIR": scratch},
            )
            try:
                return await body(context)
            finally:
                await context.close()

    yield lambda *args: asyncio.run(run(*args))
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.browser
@needs_chromium
def test_real_chromium_holds_its_lock_only_while_open(tmp_path, launch):
    ud = tmp_path / "ud"

    async def while_open(context):
        with pytest.raises(EnvironmentProblem, match="Close Chromium/Chrome first"):
            backup_profile(ud, tmp_path / "backups")
        return lock_holder(ud)

    held = launch(ud, while_open)
    assert held and "Chromium (pid " in held and "on this machine is using it" in held
    assert lock_holder(ud) is None
    assert user_data_dir_of(ud) == (ud, "Default")


@pytest.mark.browser
@needs_chromium
def test_real_chromium_opens_a_copy_with_its_cookies(tmp_path, launch):
    original = tmp_path / "original"

    async def set_cookie(context):
        await context.add_cookies([COOKIE])

    async def read_cookies(context):
        return await context.cookies(COOKIE["url"])

    launch(original, set_cookie)
    before = tree_digest(original)
    copy = copy_profile(original, tmp_path / "copy")
    assert not copy.copied_while_locked and not (copy.path / "Default/Cache").exists()
    cookies = launch(copy.path, read_cookies, copy.launch_args)
    assert [(c["name"], c["value"]) for c in cookies] == [(COOKIE["name"], COOKIE["value"])]
    assert tree_digest(original) == before  # the original was only read
