"""The in-page half of the reply watcher: what the page shows after a send, as one snapshot.

The reader (`js/reader.js`, 18 KB) is installed once per document: `install` registers it
for every document a page loads (before the page's own scripts), and `run` calls it by name
with a few bytes, sending the whole reader only to a document that lacks it (a page the
driver did not open, one loaded before the install). `mark` runs just before a message is
sent and records what the page already shows; `watch` returns the first snapshot that
differs from the last one the watcher saw (MutationObservers on the document, every open
shadow root and same-origin iframe wake it; nothing polls). `MARK_JS` and `WATCH_JS` are
the self-installing forms, for a page.evaluate of one's own.

A snapshot holds the message boxes (error rows, toasts, alerts) that appeared or changed
after the send, the reply (the profile's reply elements, or else all new readable text),
the rows of new text outside any reply element (a busy row with hashed class names is one),
whether the chat says it is still generating, and whether the composer is locked.

Where the site profile names a selector, its elements count; where it leaves one out, the
heuristics of `generic` stand in, with the safeguards a guess needs: text that was on the
page before the send, the person's own message, hidden text and labels are never the reply.
"""

from __future__ import annotations

import re
from functools import cache

from assistant.chat import generic
from assistant.chat.js import script
from assistant.playbook.model import SiteProfile

BOX_KEYS = (("error row", "error_row"), ("toast", "toast"), ("alert", "alert"))
# Guessed boxes go most specific first: a toast is often also role=status or "--error".
GUESS_KEYS = (("toast", "toast"), ("error row", "error_row"), ("alert", "alert"))
LOOSE_CHARS = 400  # a box with more text than this is a region of the page, not a message

READER = script("reader.js")
VERSION = int(re.search(r"const VERSION = (\d+);", READER).group(1))
MISSING = "__assistant_reader_missing__"  # what a short call answers in a document without the reader


@cache
def call(name: str) -> str:
    """A page function that runs the reader's `name` on its one argument, installing the
    reader first where it is missing (it carries the whole reader)."""
    return f"(arg) => ({READER}).{name}(arg)"


@cache
def short_call(name: str) -> str:
    """A page function that runs the installed reader's `name`, or answers MISSING."""
    return (f"(arg) => {{ const r = window.__assistantReader; "
            f"return r && r.version === {VERSION} ? r.{name}(arg) : {MISSING!r}; }}")


MARK_JS = call("mark")
WATCH_JS = call("watch")


async def install(page) -> None:
    """Have every document `page` loads from now on start with the reader (one round trip)."""
    await page.add_init_script(script=READER)


async def run(page, name: str, arg=None):
    """The reader's `name` on `arg` in `page`: a short call, and the whole reader only where
    the document does not have it yet (then it stays installed in that document)."""
    value = await page.evaluate(short_call(name), arg)
    if isinstance(value, str) and value == MISSING:
        value = await page.evaluate(call(name), arg)
    return value


def watch_selectors(site: SiteProfile, prompt: str | None = None) -> dict:
    """What the in-page reader looks at: the profile's CSS (alternatives joined), the
    generic heuristics for each key the profile leaves out, and the message just sent."""
    chosen = site.selectors
    css = {key: ", ".join(chosen.get(key, ())) or None for key in ("reply", "generating", "reply_done")}
    css["done"] = css.pop("reply_done")
    own = [[where, ", ".join(chosen[key]), False] for where, key in BOX_KEYS if chosen.get(key)]
    guessed = [[where, ", ".join(generic.BOX_CSS[key]), True] for where, key in GUESS_KEYS if not chosen.get(key)]
    css["boxes"] = own + guessed
    css["guess"] = None if css["reply"] else {"reply": ", ".join(generic.REPLY_CSS)}
    css["prompt"] = prompt
    css["looseChars"] = LOOSE_CHARS
    return css

