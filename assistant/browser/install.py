"""Getting a browser onto a machine that has none, when the person asks for it.

First Playwright's own Chromium (a download that needs its CDN), then the system
package manager (apt-get or dnf, as root or through passwordless sudo). Installing
system packages is a system change: it only happens under `assistant doctor
--install-browser`, which the person runs on purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable

Echo = Callable[[str], None]

PACKAGE_MANAGERS = (
    ("apt-get", [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]]),
    ("dnf", [["dnf", "install", "-y", "chromium"]]),
)


def install_browser(echo: Echo) -> bool:
    """Try each way to get a Chromium; True when one worked."""
    echo("Trying Playwright's Chromium: python -m playwright install chromium")
    if _run([sys.executable, "-m", "playwright", "install", "chromium"], echo):
        return True
    prefix = _privilege_prefix()
    for tool, commands in PACKAGE_MANAGERS:
        if not shutil.which(tool):
            continue
        if prefix is None:
            echo(f"{tool} is here, but installing needs root: run `sudo {' '.join(commands[-1])}`.")
            return False
        echo(f"Trying the system package: {' '.join(prefix + commands[-1])}")
        if all(_run(prefix + cmd, echo) for cmd in commands):
            return True
    return False


def _privilege_prefix() -> list[str] | None:
    if os.name == "posix" and os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def _run(cmd: list[str], echo: Echo) -> bool:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        echo(f"  failed: {exc}")
        return False
    if done.returncode != 0:
        lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
        reason = next((ln for ln in lines if ln.startswith(("Error", "E:"))), lines[-1] if lines else "no output")
        echo(f"  failed (exit {done.returncode}): {reason}")
        return False
    return True
