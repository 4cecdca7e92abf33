// The check's watch over what a person would notice, installed in every document of a
// trial before the page's own scripts run: when a text field turns disabled or read-only,
// with the time since the page started loading (performance.now()).
(() => {
  if (window.__assistantGuard) return;
  const guard = window.__assistantGuard = { locks: [] };
  const FIELDS = 'textarea, input:not([type]), input[type=text], input[type=search], [contenteditable]';
  const locked = (el) => !!(el.disabled || el.readOnly || el.getAttribute('aria-disabled') === 'true'
    || el.getAttribute('contenteditable') === 'false');
  const seen = new WeakMap();
  const look = () => {
    for (const el of document.querySelectorAll(FIELDS)) {
      const now = locked(el);
      if (seen.has(el) && now && !seen.get(el)) {
        const what = el.disabled ? 'disabled' : el.readOnly ? 'read-only' : 'not editable';
        guard.locks.push({ t: Math.round(performance.now()), what, tag: el.tagName.toLowerCase() });
      }
      seen.set(el, now);
    }
  };
  const start = () => {
    look();
    new MutationObserver(look).observe(document.documentElement, {
      subtree: true, childList: true, attributes: true,
      attributeFilter: ['disabled', 'readonly', 'aria-disabled', 'contenteditable'],
    });
  };
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();
