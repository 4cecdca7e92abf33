"""The in-page half of the reply watcher: what the page shows after a send, as one snapshot.

The reader (`js/reader.js`) is installed in the page on first use. `MARK_JS` runs just
before a message is sent and records what the page already shows; `WATCH_JS` returns the
first snapshot that differs from the last one the watcher saw (MutationObservers on the
document, every open shadow root and same-origin iframe wake it; nothing polls).

A snapshot holds the message boxes (error rows, toasts, alerts) that appeared or changed
after the send, the reply (the profile's reply elements, or else all new readable text),
the rows of new text outside any reply element (a busy row with hashed class names is one),
whether the chat says it is still generating, and whether the composer is locked.

Where the site profile names a selector, its elements count; where it leaves one out, the
heuristics of `generic` stand in, with the safeguards a guess needs: text that was on the
page before the send, the person's own message, hidden text and labels are never the reply.
"""

from __future__ import annotations

from assistant.chat import generic
from assistant.chat.js import script
from assistant.playbook.model import SiteProfile

BOX_KEYS = (("error row", "error_row"), ("toast", "toast"), ("alert", "alert"))
# Guessed boxes go most specific first: a toast is often also role=status or "--error".
GUESS_KEYS = (("toast", "toast"), ("error row", "error_row"), ("alert", "alert"))
LOOSE_CHARS = 400  # a box with more text than this is a region of the page, not a message

READER = script("reader.js")


def call(name: str) -> str:
    """A page function that runs the reader's `name` on its one argument."""
    return f"(arg) => ({READER}).{name}(arg)"


MARK_JS = call("mark")
WATCH_JS = call("watch")


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

