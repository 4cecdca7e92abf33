"""The `assistant` command (the console script) and `python -m assistant`.

The stop signals are handled before anything else is imported: importing click and the
CLI takes a few hundred milliseconds, and a SIGTERM, SIGHUP or Ctrl-C in that time must
still end with the documented exit code and one line, not a bare -15 or a traceback.
Until the CLI takes them over (assistant.errors.stop_signals_as_interrupt), no report
can have been asked for yet, so the line says nothing was run.

For `run` and `demo`, Playwright's driver is started before click is imported: a run needs
it, and it boots (~0.35 s) while the rest of the command loads.
"""

import os
import signal

from assistant import errors  # only signal, contextlib and enum: as light as this module


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: handle the stop signals, then load and run the CLI."""
    for name in ("SIGINT", *errors.STOP_SIGNALS):
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) is not signal.SIG_IGN:  # nohup, `cmd &`
            signal.signal(getattr(signal, name), _stopped_early)
    import sys

    args = sys.argv[1:] if argv is None else argv
    browser_first = args[:1] in (["run"], ["demo"]) and not {"-h", "--help"} & set(args)
    if browser_first:
        from assistant.browser import driver
    try:
        if browser_first:  # Playwright's driver starts while click and the command load (assistant/browser/driver.py)
            driver.start_early(own_process=True)
        from assistant.cli import main as cli_main

        cli_main(argv)
    finally:
        if browser_first:  # a command line click refuses never reaches the run, which stops it itself
            driver.discard_early()


def _stopped_early(signum, frame) -> None:
    """A stop while the CLI loads or parses (or ends): one line, the signal's exit code."""
    name = signal.Signals(signum).name
    if name in errors.STOP_SIGNALS:
        errors.stopped_by(name)
    when = "as the command ended" if errors.command_began() else "before the command began: nothing was run"
    os.write(2, f"interrupted by {errors.interrupted_by()} {when}.\n".encode())  # not print: it may be mid-write
    raise SystemExit(int(errors.interrupted_exit_code()))  # click passes SystemExit through untouched


_stopped_early.before_command = True  # stop_signals_as_interrupt puts Ctrl-C back to KeyboardInterrupt

if __name__ == "__main__":
    main()
