// The first snapshot of what appeared after the send that differs from `known`
// (a MutationObserver wakes it, nothing polls); see pagewatch.py.
async ([sel, known]) => {
  const seen = (window.__assistantSeen ||= new WeakSet()), before = (window.__assistantText ||= new WeakMap());
  const EDIT = 'textarea, input, [contenteditable=""], [contenteditable="true"]';
  const SKIP = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT', 'svg', 'BUTTON', 'NAV', 'HEADER', 'FOOTER', 'FORM']);
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const textOf = (el) => (el.innerText ?? el.textContent ?? '').trim();
  const later = (a, b) => !a || !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
  const snap = () => {
    let users = null;  // the person's own message: looked up only when a guess needs it
    const own = () => users ??= sel.prompt ? [...document.body.querySelectorAll('*')].filter(el => norm(el.textContent) === norm(sel.prompt)) : [];
    const mine = (el) => own().some(u => u === el || u.contains(el));
    const holdsMine = (el) => own().some(u => u !== el && el.contains(u));
    const replyCss = [sel.reply, sel.guess && sel.guess.reply].filter(Boolean).join(', ');
    const taken = new Set(), boxes = [];
    for (const [where, css, guessed] of sel.boxes) {
      for (const el of document.querySelectorAll(css)) {
        if (taken.has(el)) continue;
        const changed = guessed && before.has(el) && before.get(el) !== el.textContent;
        if (seen.has(el) && !changed) continue;
        const text = textOf(el);
        const loose = mine(el) || holdsMine(el) || text.length > sel.looseChars || !!el.querySelector(EDIT)
          || (!!replyCss && (el.matches(replyCss) || !!el.querySelector(replyCss)));
        if (guessed && loose) continue;
        taken.add(el);
        if (text) boxes.push({where, text, loose});
      }
    }
    const inBox = (el) => [...taken].some(b => b.contains(el));
    const usable = (el) => !seen.has(el) && !mine(el) && !holdsMine(el) && !inBox(el)
      && !el.querySelector(EDIT) && !el.closest('button, [role=button], nav, header, footer, form');
    const guessReply = () => {
      const found = sel.guess.reply ? [...document.querySelectorAll(sel.guess.reply)].filter(usable) : [];
      if (found.length) {
        const tops = found.filter(el => !found.some(o => o !== el && o.contains(el)));
        const top = tops[tops.length - 1], size = (el) => norm(el.textContent).length;
        const inner = found.filter(el => el !== top && top.contains(el));
        return inner.length ? inner.reduce((a, b) => size(b) > size(a) ? b : a) : top;
      }
      let last = null;  // no element says "reply": the newest block that came after the send
      const queue = [...document.body.querySelectorAll('*')].filter(el => !seen.has(el) && seen.has(el.parentElement));
      while (queue.length) {
        const el = queue.shift();
        if (SKIP.has(el.tagName) || mine(el) || inBox(el)) continue;
        if (holdsMine(el) || [...taken].some(b => el.contains(b))) { queue.push(...el.children); continue; }
        if (!el.querySelector(EDIT) && norm(el.textContent) && later(last, el)) last = el;
      }
      return last;
    };
    let replies = [];
    if (sel.reply) replies = [...document.querySelectorAll(sel.reply)].filter(el => !seen.has(el)).map(textOf);
    else if (sel.guess) { const el = guessReply(); replies = el ? [textOf(el)] : []; }
    const generating = sel.generating ? document.querySelector(sel.generating) !== null : null;
    const s = {boxes, replies, generating};
    s.key = JSON.stringify([boxes, replies, generating]);
    return s;
  };
  const first = snap();
  if (first.key !== known) return first;
  return await new Promise(resolve => {
    const obs = new MutationObserver(() => {
      const s = snap();
      if (s.key !== known) { obs.disconnect(); resolve(s); }
    });
    obs.observe(document.documentElement, {subtree: true, childList: true, characterData: true, attributes: true});
  });
}
