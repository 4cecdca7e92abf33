"""The in-page half of the reply watcher: what the page shows after a send, as one snapshot.

`MARK_JS` runs just before a message is sent and marks what is already on the page;
`WATCH_JS` returns the first snapshot that differs from the last one the watcher saw
(a MutationObserver wakes it, nothing polls). A snapshot holds the message boxes (error
rows, toasts, alerts) and reply bubbles that appeared after the send, and whether the
chat says it is still generating.

Where the site profile names a selector, only its elements count, as they always did.
Where it leaves one out, the heuristics of `assistant.generic` stand in, with safeguards
a guess needs: the person's own message (found by its text) is never the reply, a box
that holds it or a reply is a page region, not a message, and with no element that
says "reply", the newest block that appeared after the send is the reply.
"""

from __future__ import annotations

from assistant.chat import generic
from assistant.chat.js import script
from assistant.playbook.model import SiteProfile

BOX_KEYS = (("error row", "error_row"), ("toast", "toast"), ("alert", "alert"))
# Guessed boxes go most specific first: a toast is often also role=status or "--error".
GUESS_KEYS = (("toast", "toast"), ("error row", "error_row"), ("alert", "alert"))
LOOSE_CHARS = 400  # a box with more text than this is a region of the page, not a message

MARK_JS = script("mark.js")

WATCH_JS = script("watch.js")


def watch_selectors(site: SiteProfile, prompt: str | None = None) -> dict:
    """What the in-page watcher looks at: the profile's CSS (alternatives joined), the
    generic heuristics for each key the profile leaves out, and the message just sent."""
    chosen = site.selectors
    css = {key: ", ".join(chosen.get(key, ())) or None for key in ("reply", "generating")}
    own = [[where, ", ".join(chosen[key]), False] for where, key in BOX_KEYS if chosen.get(key)]
    guessed = [[where, ", ".join(generic.BOX_CSS[key]), True] for where, key in GUESS_KEYS if not chosen.get(key)]
    css["boxes"] = own + guessed
    css["guess"] = {"reply": None if css["reply"] else ", ".join(generic.REPLY_CSS)} if guessed or not css["reply"] else None
    css["prompt"] = prompt
    css["looseChars"] = LOOSE_CHARS
    return css

