"""Writing a report file the person asked for: never silently dropped, never replacing what is not ours.

`-` is standard output. A symlink is written through to its target. A special file
(`/dev/stdout`, a FIFO someone reads, a terminal) is written in place; any other
non-regular file (a folder, a socket) is refused. A regular file is written beside its
target and renamed over it, so a reader never sees half a report. Every failure is an
EnvironmentProblem (exit 3) that names the report and why it could not be written.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
import tempfile
from pathlib import Path

from assistant.errors import EnvironmentProblem

_IN_PLACE = ("/dev/", "/proc/")  # /dev/stdout, /dev/fd/N, /proc/self/fd/N: a stream, not a file to replace


def write_report(path: Path, data: bytes, what: str, mode: int = 0o600) -> None:
    """Write `data` as the report `what` (e.g. "the --json report") to `path`, or raise why not.
    A new or replaced regular file gets `mode` (0600: reports can hold what a page showed)."""
    if str(path) == "-":
        _to_stdout(data, what)
        return
    try:
        if str(path).startswith(_IN_PLACE) and os.path.exists(path) and not os.path.isdir(path):
            _in_place(Path(path), data)  # opened through the link: /proc/self/fd/1 may name a deleted file
            return
        target = Path(os.path.realpath(path))
        if _special(target):
            _in_place(target, data)
        else:
            _atomic(target, data, mode)
    except OSError as exc:
        raise EnvironmentProblem(
            f"{what} {path} was not written: {_why(exc)}.",
            hint="Give a path in a folder you can write to, or - for standard output.",
        ) from None


def _special(target: Path) -> bool:
    """Whether the target is written in place (a FIFO, a device) rather than replaced."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "it is a folder")
    if stat.S_ISREG(mode):
        return False
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return True
    raise OSError(errno.EINVAL, "it is not a regular file, a FIFO or a device (it is left as it is)")


def _in_place(target: Path, data: bytes) -> None:
    """Open without creating or replacing; a FIFO nobody reads fails at once instead of hanging."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "it is a FIFO that nobody is reading") from None
        raise
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _atomic(target: Path, data: bytes, mode: int) -> None:
    """Write beside the target, then rename over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            os.fchmod(out.fileno(), mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _to_stdout(data: bytes, what: str) -> None:
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except (OSError, ValueError) as exc:
        raise EnvironmentProblem(f"{what} was not written to standard output: {_why(exc)}.") from None


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror.rstrip('.')}{where}"
    return str(exc) or type(exc).__name__


def check_folder(folder: Path, what: str) -> None:
    """Make sure a folder for artifacts can be created and written to, before a browser starts."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise EnvironmentProblem(
            f"{what} {folder} cannot be used: {_why(exc)}.",
            hint="Give a folder you can write to; nothing was run.",
        ) from None
