// After a reply: wait until the page is `hold` ms old (a person reads the answer and starts
// the next message), then say what a person would see: the composer's state and the
// locks the guard saw.
async (hold) => {
  const left = hold - performance.now();
  if (left > 0) await new Promise(r => setTimeout(r, left));
  const el = document.querySelector('[data-assistant-composer]');
  const locked = !!el && !!(el.disabled || el.readOnly || el.getAttribute('aria-disabled') === 'true'
    || el.getAttribute('contenteditable') === 'false');
  return { locked, age: Math.round(performance.now()), locks: (window.__assistantGuard || {}).locks || [] };
}
