"""Where is a Chromium or Chrome, and which version is it.

Order: an explicit path (--browser-path, then ASSISTANT_BROWSER), then Playwright's own
Chromium where it is installed, then a system Chromium or Chrome. An explicit path wins
because a person who names a browser means that one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
SYSTEM_PATHS = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/snap/bin/chromium",
    "/usr/bin/google-chrome",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
)


@dataclass(frozen=True)
class BrowserInfo:
    """A browser the tool can drive. `path` is None for Playwright's own (it knows where)."""

    path: str | None
    source: str  # "--browser-path", "ASSISTANT_BROWSER", "playwright", "system"
    version: str | None = None

    def describe(self) -> str:
        where = self.path or ("a remote browser" if self.source.startswith("remote") else "Playwright's bundled Chromium")
        return f"{self.version or 'unknown version'} ({where}, from {self.source})"


def explicit_browser(browser_path: str | None) -> BrowserInfo | None:
    """The browser named by --browser-path or ASSISTANT_BROWSER, checked to exist."""
    from assistant.errors import EnvironmentProblem

    for source, value in (("--browser-path", browser_path), ("ASSISTANT_BROWSER", os.environ.get("ASSISTANT_BROWSER"))):
        if not value:
            continue
        resolved = shutil.which(value) or value
        if not Path(resolved).is_file():
            raise EnvironmentProblem(
                f"{source} names {value!r}, but no such browser executable exists. "
                "Give the full path of a Chromium or Chrome binary, or leave it unset to let "
                "assistant find one (run `assistant doctor` to see what it finds)."
            )
        return BrowserInfo(resolved, source)
    return None


def find_system_browser() -> BrowserInfo | None:
    """A Chromium or Chrome installed by the system, if any."""
    candidates = [shutil.which(name) for name in SYSTEM_NAMES] + list(SYSTEM_PATHS)
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return BrowserInfo(candidate, "system")
    return None


def browser_version(path: str) -> str | None:
    """`Chromium 156.0.8078.79` from the binary's --version, or None."""
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=15, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"((?:Google Chrome|Chromium|Chrome)[^\d]*[\d.]+)", out)
    return match.group(1).strip() if match else (out.strip().splitlines() or [None])[0]


def how_to_get_a_browser() -> str:
    """What to run to get a browser, for this operating system."""
    if sys.platform == "darwin":
        system = "`brew install --cask chromium` or install Google Chrome"
    elif sys.platform == "win32":
        system = "install Google Chrome"
    else:
        system = (
            "`sudo apt-get install chromium` (Debian, Ubuntu), `sudo dnf install chromium` "
            "(Fedora) or `sudo pacman -S chromium` (Arch)"
        )
    return (
        f"To get one: `{Path(sys.executable).name} -m playwright install chromium` (downloads "
        f"Playwright's Chromium), or {system}, or point ASSISTANT_BROWSER (or --browser-path) "
        "at a Chromium or Chrome executable."
    )


def default_user_data_dirs() -> list[Path]:
    """Where Chrome and Chromium keep their profiles on this operating system, Chrome first."""
    home = Path.home()
    if sys.platform == "darwin":
        base = home / "Library" / "Application Support"
        return [base / "Google" / "Chrome", base / "Chromium"]
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
        return [base / "Google" / "Chrome" / "User Data", base / "Chromium" / "User Data"]
    config = Path(os.environ.get("XDG_CONFIG_HOME", home / ".config"))
    return [config / "google-chrome", config / "chromium"]
