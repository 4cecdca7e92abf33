// Runs just before a message is sent: marks what is already on the page (see pagewatch.py).
(sel) => {
  const seen = (window.__assistantSeen ||= new WeakSet()), before = (window.__assistantText ||= new WeakMap());
  if (sel.guess) {
    document.querySelectorAll('*').forEach(el => seen.add(el));
    for (const [, css, guessed] of sel.boxes)
      if (guessed) document.querySelectorAll(css).forEach(el => before.set(el, el.textContent));
  }
  for (const css of [sel.reply, ...sel.boxes.map(b => b[1])])
    if (css) document.querySelectorAll(css).forEach(el => seen.add(el));
}
