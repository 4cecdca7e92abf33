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

from assistant import generic
from assistant.playbook.model import SiteProfile

BOX_KEYS = (("error row", "error_row"), ("toast", "toast"), ("alert", "alert"))
# Guessed boxes go most specific first: a toast is often also role=status or "--error".
GUESS_KEYS = (("toast", "toast"), ("error row", "error_row"), ("alert", "alert"))
LOOSE_CHARS = 400  # a box with more text than this is a region of the page, not a message

_SEEN = "(window.__assistantSeen ||= new WeakSet())"
_BEFORE = "(window.__assistantText ||= new WeakMap())"  # a guessed box's text at the send

MARK_JS = f"""(sel) => {{
  const seen = {_SEEN}, before = {_BEFORE};
  if (sel.guess) {{
    document.querySelectorAll('*').forEach(el => seen.add(el));
    for (const [, css, guessed] of sel.boxes)
      if (guessed) document.querySelectorAll(css).forEach(el => before.set(el, el.textContent));
  }}
  for (const css of [sel.reply, ...sel.boxes.map(b => b[1])])
    if (css) document.querySelectorAll(css).forEach(el => seen.add(el));
}}"""

WATCH_JS = f"""async ([sel, known]) => {{
  const seen = {_SEEN}, before = {_BEFORE};
  const EDIT = 'textarea, input, [contenteditable=""], [contenteditable="true"]';
  const SKIP = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT', 'svg', 'BUTTON', 'NAV', 'HEADER', 'FOOTER', 'FORM']);
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const textOf = (el) => (el.innerText ?? el.textContent ?? '').trim();
  const later = (a, b) => !a || !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
  const snap = () => {{
    let users = null;  // the person's own message: looked up only when a guess needs it
    const own = () => users ??= sel.prompt ? [...document.body.querySelectorAll('*')].filter(el => norm(el.textContent) === norm(sel.prompt)) : [];
    const mine = (el) => own().some(u => u === el || u.contains(el));
    const holdsMine = (el) => own().some(u => u !== el && el.contains(u));
    const replyCss = [sel.reply, sel.guess && sel.guess.reply].filter(Boolean).join(', ');
    const taken = new Set(), boxes = [];
    for (const [where, css, guessed] of sel.boxes) {{
      for (const el of document.querySelectorAll(css)) {{
        if (taken.has(el)) continue;
        const changed = guessed && before.has(el) && before.get(el) !== el.textContent;
        if (seen.has(el) && !changed) continue;
        const text = textOf(el);
        const loose = mine(el) || holdsMine(el) || text.length > {LOOSE_CHARS} || !!el.querySelector(EDIT)
          || (!!replyCss && (el.matches(replyCss) || !!el.querySelector(replyCss)));
        if (guessed && loose) continue;
        taken.add(el);
        if (text) boxes.push({{where, text, loose}});
      }}
    }}
    const inBox = (el) => [...taken].some(b => b.contains(el));
    const usable = (el) => !seen.has(el) && !mine(el) && !holdsMine(el) && !inBox(el)
      && !el.querySelector(EDIT) && !el.closest('button, [role=button], nav, header, footer, form');
    const guessReply = () => {{
      const found = sel.guess.reply ? [...document.querySelectorAll(sel.guess.reply)].filter(usable) : [];
      if (found.length) {{
        const tops = found.filter(el => !found.some(o => o !== el && o.contains(el)));
        const top = tops[tops.length - 1], size = (el) => norm(el.textContent).length;
        const inner = found.filter(el => el !== top && top.contains(el));
        return inner.length ? inner.reduce((a, b) => size(b) > size(a) ? b : a) : top;
      }}
      let last = null;  // no element says "reply": the newest block that came after the send
      const queue = [...document.body.querySelectorAll('*')].filter(el => !seen.has(el) && seen.has(el.parentElement));
      while (queue.length) {{
        const el = queue.shift();
        if (SKIP.has(el.tagName) || mine(el) || inBox(el)) continue;
        if (holdsMine(el) || [...taken].some(b => el.contains(b))) {{ queue.push(...el.children); continue; }}
        if (!el.querySelector(EDIT) && norm(el.textContent) && later(last, el)) last = el;
      }}
      return last;
    }};
    let replies = [];
    if (sel.reply) replies = [...document.querySelectorAll(sel.reply)].filter(el => !seen.has(el)).map(textOf);
    else if (sel.guess) {{ const el = guessReply(); replies = el ? [textOf(el)] : []; }}
    const generating = sel.generating ? document.querySelector(sel.generating) !== null : null;
    const s = {{boxes, replies, generating}};
    s.key = JSON.stringify([boxes, replies, generating]);
    return s;
  }};
  const first = snap();
  if (first.key !== known) return first;
  return await new Promise(resolve => {{
    const obs = new MutationObserver(() => {{
      const s = snap();
      if (s.key !== known) {{ obs.disconnect(); resolve(s); }}
    }});
    obs.observe(document.documentElement, {{subtree: true, childList: true, characterData: true, attributes: true}});
  }});
}}"""


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
    return css

