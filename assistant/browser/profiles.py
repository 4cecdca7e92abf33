"""A person's Chromium or Chrome profile: where it is, who holds it, a copy for experiments.

Nothing here changes what a person owns: `copy_profile` only reads the profile, and
storage-state files (login cookies) are written readable by their owner only. Backup and
restore for `--in-place` runs live in `assistant.browser.backup` and are importable from here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import NamedTuple

from assistant.errors import EnvironmentProblem, UsageError

log = logging.getLogger(__name__)

PROFILE_NAME = re.compile(r"(Default|Profile \d+)")
# Large, rebuilt on demand, and never what makes a chat busy; Singleton* belong to the running browser.
SKIPPED = (
    "Singleton*", "Cache", "Code Cache", "GPUCache", "ShaderCache", "GrShaderCache", "GraphiteDawnCache",
    "DawnCache", "DawnGraphiteCache", "DawnWebGPUCache", "GPUPersistentCache", "Crashpad", "*.tmp",
)
# Playwright launches with these; they hide the OS keyring, so a copy of a real profile whose
# cookies were encrypted with it cannot read them. Pass as `ignore_default_args` for such a copy.
KEYRING_DEFAULT_ARGS = ("--password-store=basic", "--use-mock-keychain")
WHERE_PROFILES_LIVE = (
    "Chrome keeps them in ~/.config/google-chrome and Chromium in ~/.config/chromium (Linux), "
    "~/Library/Application Support/Google/Chrome (macOS), %LOCALAPPDATA%\\Google\\Chrome\\User Data "
    "(Windows); chrome://version shows the 'Profile Path' of the one in use."
)


class ProfileLocation(NamedTuple):
    """A user-data dir and a profile in it; `bare` when the folder is a profile with no `Local State`."""

    user_data_dir: Path
    profile_name: str  # "Default" for a bare profile: the name its copy gets

    @property
    def bare(self) -> bool:
        return not (self.user_data_dir / "Local State").is_file()


@dataclass(frozen=True)
class ProfileCopy:
    """A throwaway copy: launch `path` with `launch_args`, remove it when done."""

    path: Path
    profile_name: str
    copied_while_locked: bool
    holder: str | None = None  # who held the original while it was copied

    @property
    def launch_args(self) -> list[str]:
        return [f"--profile-directory={self.profile_name}"]


def user_data_dir_of(path: str | os.PathLike) -> ProfileLocation:
    """The user-data dir and profile name for a user-data folder or a profile folder."""
    folder = Path(path).expanduser().absolute()
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder.", hint=WHERE_PROFILES_LIVE)
    if (folder / "Local State").is_file():
        return ProfileLocation(folder, _last_used(folder))
    if (folder / "Preferences").is_file() or PROFILE_NAME.fullmatch(folder.name):
        if (folder.parent / "Local State").is_file():
            return ProfileLocation(folder.parent, folder.name)
        return ProfileLocation(folder, "Default")
    raise UsageError(
        f"{folder} is neither a Chromium/Chrome user-data folder (it has no `Local State` file) "
        "nor a profile folder (it has no `Preferences` file and is not named `Default` or `Profile N`).",
        hint=WHERE_PROFILES_LIVE,
    )


def _last_used(user_data_dir: Path) -> str:
    try:
        name = json.loads((user_data_dir / "Local State").read_text("utf-8"))["profile"]["last_used"]
    except (OSError, ValueError, KeyError, TypeError):
        return "Default"
    return name if isinstance(name, str) and (user_data_dir / name).is_dir() else "Default"


def lock_holder(user_data_dir: str | os.PathLike) -> str | None:
    """Who uses this user-data dir now, in words; None when nobody does (no lock, or a stale one)."""
    folder = Path(user_data_dir)
    if sys.platform == "win32":  # Chrome deletes its `lockfile` when it exits, even on a crash
        return "Chrome or Chromium is using it" if (folder / "lockfile").exists() else None
    try:
        target = os.readlink(folder / "SingletonLock")
    except FileNotFoundError:
        return _socket_answers(folder)
    except OSError:  # there, but not a symlink: not Chromium's form, so assume the worst
        return f"something holds its SingletonLock ({folder / 'SingletonLock'} is not Chromium's usual link)"
    host, _, pid = target.rpartition("-")
    if not host or not pid.isdigit():
        return f"something holds its SingletonLock (it points at {target!r}, not <host>-<pid>)"
    if host != socket.gethostname():
        return f"a browser on another computer ({host}) holds its lock (if that computer no longer uses it, delete {folder / 'SingletonLock'})"
    if not _alive(int(pid)):
        log.debug("stale SingletonLock in %s: pid %s is gone", folder, pid)
        return None
    return f"{_process_name(int(pid))} (pid {pid}) on this machine is using it"


def ensure_free(user_data_dir: str | os.PathLike) -> None:
    """Refuse to launch on a person's own profile that a browser has open (an --in-place run
    checks at the backup; this is the check at the launch, for a browser opened in between)."""
    holder = lock_holder(user_data_dir)
    if holder:
        raise EnvironmentProblem(
            f"{user_data_dir} was opened by a browser after the backup ({holder}), so the run cannot use it in place; "
            "nothing was run on it.",
            hint="Close that browser and run again, or run on a copy without --in-place (the backup stays: `assistant restore --list`).",
        )


def _socket_answers(folder: Path) -> str | None:
    # Hints only: SingletonCookie is a random token, and a SingletonSocket left by a crash
    # points at nothing. A socket that accepts a connection does mean a browser is there.
    try:
        target = os.readlink(folder / "SingletonSocket")
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(1)
            conn.connect(target)
    except OSError:
        return None
    return f"a browser answers on its SingletonSocket ({target}), though its SingletonLock is gone"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to another user
        return True
    return True


def _process_name(pid: int) -> str:
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "a browser"
    return {"chromium": "Chromium", "chrome": "Chrome"}.get(name, name)


def copy_profile(path: str | os.PathLike, into: Path) -> ProfileCopy:
    """Copy a profile's user-data dir (a bare profile becomes `Default`) into an empty folder, without caches."""
    where = user_data_dir_of(path)
    into = Path(into)
    if into.resolve().is_relative_to(where.user_data_dir.resolve()):
        raise UsageError(f"{into} is inside the profile it would copy; give a folder outside {where.user_data_dir}.")
    into.mkdir(mode=0o700, parents=True, exist_ok=True)
    if any(into.iterdir()):
        raise UsageError(f"{into} is not empty; a profile copy needs an empty folder of its own.")
    holder = lock_holder(where.user_data_dir)
    if holder:
        log.warning("copying %s while it is in use (%s): the copy may miss its latest changes", where.user_data_dir, holder)
    source, dest = where.user_data_dir, into
    if where.bare:
        dest = into / "Default"
        write_private_json({"profile": {"last_used": "Default"}}, into / "Local State")
    # The person's other profiles (perhaps a work account) have no business in the experiment.
    others = {p.name for p in source.iterdir() if p.name != where.profile_name and (p / "Preferences").is_file()}

    def skip(folder: str, names: list[str]) -> set[str]:
        top = others if Path(folder) == source else set()
        return {n for n in names if n in top or any(fnmatchcase(n, pattern) for pattern in SKIPPED)}

    try:
        shutil.copytree(source, dest, symlinks=True, ignore=skip, copy_function=copy_regular, dirs_exist_ok=True)
    except shutil.Error as exc:  # a running browser adds and removes files as we go
        if not holder:
            raise EnvironmentProblem(f"Copying {source} failed: {str(exc)[:300]}") from None
        log.warning("%d files changed while %s was copied; the copy has the rest", len(exc.args[0]), source)
    return ProfileCopy(into, where.profile_name, holder is not None, holder)


def copy_regular(src: str, dst: str) -> str:
    """`shutil.copy2` for regular files; sockets and pipes have no content to copy and are left out."""
    if stat.S_ISREG(os.lstat(src).st_mode):
        shutil.copy2(src, dst)
    return dst


def write_private_json(data: dict, path: str | os.PathLike) -> Path:
    """Write JSON readable by its owner only, atomically, never briefly readable by others."""
    path = Path(path).expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # os.open(..., 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_storage_state(state: dict, path: str | os.PathLike) -> Path:
    """Save Playwright storage state (cookies are credentials) as a 0600 JSON file."""
    return write_private_json(state, path)


def load_storage_state(path: str | os.PathLike) -> str:
    """Check a storage-state file and return its path for Playwright's `storage_state=`."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"No storage-state file at {path}.", hint="Save one first (a JSON file with `cookies` and `origins`).")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:  # the message names a position, never the content
        raise UsageError(f"{path} is not a readable JSON file: {exc}.") from None
    if not (isinstance(data, dict) and isinstance(data.get("cookies"), list) and isinstance(data.get("origins"), list)):
        raise UsageError(f"{path} is JSON but not a Playwright storage state: it needs a `cookies` list and an `origins` list.")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning("%s holds login cookies and other users can read it; run `chmod 600 %s`", path, path)
    return str(path)

