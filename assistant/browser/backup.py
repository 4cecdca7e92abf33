"""Backups for `--in-place` runs: a verified, byte-identical copy, and a restore that can be undone.

STYLE: nothing a person owns changes without consent and a backup. A backup is taken only
while no browser holds the profile and is checked against the original; a restore checks
the backup against its manifest before it touches anything, and moves the current profile
aside instead of deleting it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import stat
import sys
from datetime import datetime, timezone
from pathlib import Path

from assistant.browser.profiles import (
    copy_regular,
    lock_holder,
    user_data_dir_of,
    write_private_json,
)
from assistant.errors import EnvironmentProblem, Interrupted, UsageError, interrupted_exit_code

log = logging.getLogger(__name__)

MANIFEST = "assistant-backup.json"  # beside the copied tree, never inside it
TREE = "profile"
PARTIAL = ".partial-"  # a backup being made: `<stamp>-.partial-<pid>-<name>`, renamed once verified
RESTORING = "assistant-restoring.json"  # in a backup folder while it is being restored

_held: dict[Path, int] = {}  # profile folder -> the open descriptor whose lock this process holds


def hold_profile(user_data_dir: str | os.PathLike) -> None:
    """Take this process's exclusive lock on a profile folder, atomically, until it exits
    (or `release_profile`): two `--in-place` runs can never both pass the check. The lock
    is the kernel's (flock on the folder itself), so it writes nothing into the profile
    and dies with its process: a killed run leaves no stale lock."""
    folder = Path(user_data_dir).resolve()
    if folder in _held or sys.platform == "win32":  # Windows: Chrome's own lockfile is checked instead
        return
    import fcntl

    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise EnvironmentProblem(
            f"Another `assistant` run is using {folder} in place right now (it holds the folder's lock); "
            "nothing was backed up or run.",
            hint="Wait for that run to end, or run on a copy of the profile (without --in-place).",
        ) from None
    _held[folder] = fd


def release_profile(user_data_dir: str | os.PathLike) -> None:
    """Give up the lock `hold_profile` took (a no-op when this process holds none)."""
    fd = _held.pop(Path(user_data_dir).resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock


def backups_folder(root: str | os.PathLike | None = None) -> Path:
    """Where backups go: `root`, else $ASSISTANT_BACKUPS, else ~/.local/share/assistant/backups."""
    if root or os.environ.get("ASSISTANT_BACKUPS"):
        return Path(root or os.environ["ASSISTANT_BACKUPS"]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "assistant" / "backups"


def tree_digest(path: str | os.PathLike) -> dict[str, str]:
    """Relative path -> sha256 of each file; `link:<target>` for symlinks, `dir` for folders."""
    root, digest = Path(path), {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(folder, name)
            rel, mode = Path(full).relative_to(root).as_posix(), os.lstat(full).st_mode
            if stat.S_ISLNK(mode):
                digest[rel] = "link:" + os.readlink(full)
            elif stat.S_ISDIR(mode):
                digest[rel] = "dir"
            elif stat.S_ISREG(mode):  # sockets and pipes have no content
                digest[rel] = _sha256(full)
    return dict(sorted(digest.items()))


def _sha256(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def backup_profile(user_data_dir: str | os.PathLike, backups_root: str | os.PathLike | None = None) -> Path:
    """Copy a user-data dir byte for byte into a new backup folder; refuse while a browser holds it."""
    source = user_data_dir_of(user_data_dir).user_data_dir.resolve()
    hold_profile(source)  # first: from here on no other run can start on it
    holder = lock_holder(source)  # and Chromium's own lock: no browser may have it open
    if holder:
        raise EnvironmentProblem(
            f"Cannot back up {source}: {holder}.",
            hint="Close Chromium/Chrome first, or run on a copy without --in-place.",
        )
    before = tree_digest(source)
    size = sum(os.lstat(source / rel).st_size for rel, kind in before.items() if kind != "dir")
    root = backups_folder(backups_root)
    if root.resolve().is_relative_to(source):
        raise UsageError(f"The backups folder {root} is inside the profile it would back up; choose one outside {source}.")
    root.mkdir(mode=0o700, parents=True, exist_ok=True)  # the copy holds login cookies
    _remove_partials(root)
    if shutil.disk_usage(root).free < size * 1.1:
        raise EnvironmentProblem(
            f"A backup of {source} needs {size / 1e6:.0f} MB, more than is free in {root}.",
            hint="Free some space, or point ASSISTANT_BACKUPS at a folder on a disk with room.",
        )
    folder = _new_folder(root, f"{PARTIAL}{os.getpid()}-{source.name}")  # a killed backup is found and removed later
    try:
        _copy(source, folder / TREE)
        found = tree_digest(folder / TREE)
        if found != before:
            raise EnvironmentProblem(
                f"{source} changed while it was being backed up ({_differences(before, found)}); nothing was changed.",
                hint="Make sure no browser or sync tool uses it, and try again.",
            )
        files = sum(kind != "dir" for kind in before.values())
        manifest = {"format": 1, "original": str(source), "created_at": _now().isoformat(timespec="seconds"),
                    "files": files, "bytes": size, "sha256": before}
        write_private_json(manifest, folder / MANIFEST)
        done = _new_folder(root, source.name)
        os.replace(folder, done)  # over the empty folder just made: the name is ours
    except KeyboardInterrupt:
        shutil.rmtree(folder, ignore_errors=True)
        raise _interrupted(f"The backup of {source} was interrupted; its partial copy was removed and nothing was run.") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    log.info("backed up %s (%d files, %d bytes) to %s", source, files, size, done)
    return done


def _interrupted(message: str, hint: str | None = None) -> Interrupted:
    error = Interrupted(message, hint=hint)
    error.exit_code = interrupted_exit_code()  # 143 for SIGTERM, 129 for SIGHUP, 130 for Ctrl-C
    return error


def _remove_partials(root: Path) -> None:
    """Remove what backups killed half-way (SIGKILL, a power cut) left: their process is gone."""
    for folder in root.glob(f"*{PARTIAL}*"):
        pid = re.search(rf"{re.escape(PARTIAL)}(\d+)-", folder.name)
        if folder.is_dir() and pid and not _alive(int(pid[1])):
            log.info("removing %s, a backup interrupted half-way", folder)
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def restore_profile(backup_dir: str | os.PathLike, target: str | os.PathLike | None = None) -> Path:
    """Make `target` (default: the backup's origin) byte-identical to a verified backup; the old one is moved aside."""
    folder = Path(backup_dir).expanduser()
    manifest = _read_manifest(folder)
    tree, expected = folder / TREE, manifest["sha256"]
    target = Path(target or manifest["original"]).expanduser().resolve()
    holder = lock_holder(target) if target.is_dir() else None
    if holder:
        raise EnvironmentProblem(f"Cannot restore into {target}: {holder}.", hint="Close Chromium/Chrome first.")
    found = tree_digest(tree) if tree.is_dir() else {}
    if found != expected:
        raise EnvironmentProblem(
            f"The backup in {folder} does not match its manifest ({_differences(expected, found)}); nothing was restored or changed.",
            hint="Restore from another backup (`list_backups`), or copy what is usable by hand.",
        )
    marker = folder / RESTORING
    earlier = _killed_restore(marker, target)
    if target.is_dir():
        hold_profile(target)  # no --in-place run may start on it while it is replaced
    try:
        aside = _move_aside(target, marker, earlier)
        try:
            _copy(tree, target)
            if tree_digest(target) != expected:
                raise EnvironmentProblem(f"The restored copy in {target} does not match the backup; the previous state is back.")
        except BaseException as exc:
            shutil.rmtree(target, ignore_errors=True)
            if aside:
                os.rename(aside, target)
            marker.unlink(missing_ok=True)  # undone: nothing left to finish
            if isinstance(exc, KeyboardInterrupt):
                raise _interrupted(f"The restore into {target} was interrupted and undone: {target} is as it was before.",
                                   hint=f"Run `assistant restore {folder}` again to restore it.") from None
            raise
        marker.unlink(missing_ok=True)
    finally:
        release_profile(target)
    log.info("restored %s from %s%s", target, folder, f"; what was there before is in {aside}" if aside else "")
    return target


def _killed_restore(marker: Path, target: Path) -> Path | None:
    """Where the state before a restore that was killed half-way is (its copy never finished), or None."""
    try:
        data = json.loads(marker.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if _alive(int(data.get("pid", 0) or 0)) and data.get("pid") != os.getpid():
        raise EnvironmentProblem(f"Another restore from this backup into {data.get('target')} is running (pid {data['pid']}).",
                                 hint="Wait for it to end.")
    aside = data.get("aside")
    if data.get("target") == str(target) and aside and os.path.isdir(aside):
        log.warning("finishing an interrupted restore into %s; what was there before it is in %s", target, aside)
        return Path(aside)
    return None


def _move_aside(target: Path, marker: Path, earlier: Path | None) -> Path | None:
    """Move what is in `target` aside, noting it in `marker` first, so a killed restore can be
    finished; after one, `earlier` already holds the state before and `target` a partial copy."""
    if earlier is not None:
        shutil.rmtree(target, ignore_errors=True)
        return earlier
    aside = _unused(target.with_name(f"{target.name}.before-restore-{_stamp()}")) if os.path.lexists(target) else None
    write_private_json({"target": str(target), "aside": str(aside) if aside else None, "pid": os.getpid()}, marker)
    if aside:
        os.rename(target, aside)
    return aside


def list_backups(backups_root: str | os.PathLike | None = None) -> list[dict]:
    """Each backup's manifest without its per-file sums, plus its `path`, oldest first."""
    found = []
    for manifest in backups_folder(backups_root).glob(f"*/{MANIFEST}"):
        if PARTIAL in manifest.parent.name:  # not verified yet, or killed half-way
            continue
        try:
            data = json.loads(manifest.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            log.debug("skipping %s: %s", manifest, exc)
            continue
        if isinstance(data, dict):
            found.append({**{k: v for k, v in data.items() if k != "sha256"}, "path": str(manifest.parent)})
    return sorted(found, key=lambda b: (str(b.get("created_at", "")), b["path"]))


def _copy(source: Path, dest: Path) -> None:
    try:  # copy2 keeps modes and times; symlinks stay symlinks; folders get theirs after their contents
        shutil.copytree(source, dest, symlinks=True, copy_function=copy_regular)
    except (shutil.Error, OSError) as exc:
        raise EnvironmentProblem(f"Copying {source} to {dest} failed: {str(exc)[:300]}") from None


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
        if isinstance(manifest, dict) and isinstance(manifest.get("sha256"), dict) and manifest.get("original"):
            return manifest
    except (OSError, ValueError):
        pass
    raise UsageError(f"{folder} is not an assistant backup: it has no readable {MANIFEST}.", hint="`assistant restore --list` shows the backups there are.")


def _differences(expected: dict, found: dict) -> str:
    kinds = {"missing": [p for p in expected if p not in found], "unexpected": [p for p in found if p not in expected],
             "changed": [p for p in expected if p in found and found[p] != expected[p]]}
    return ", ".join(f"{len(ps)} {kind}: {', '.join(ps[:3])}{' ...' if len(ps) > 3 else ''}" for kind, ps in kinds.items() if ps)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp() -> str:
    return _now().strftime("%Y%m%dT%H%M%SZ")


def _new_folder(root: Path, name: str) -> Path:
    base = root / f"{_stamp()}-{re.sub(r'[^A-Za-z0-9._-]+', '_', name) or 'profile'}"
    for n in range(1, 1000):
        folder = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            folder.mkdir(mode=0o700)
            return folder
        except FileExistsError:
            continue
    raise EnvironmentProblem(f"Could not make a new backup folder in {root}.")


def _unused(path: Path) -> Path:
    n = 1
    while os.path.lexists(candidate := path if n == 1 else path.with_name(f"{path.name}-{n}")):
        n += 1
    return candidate
