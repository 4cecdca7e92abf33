// Text holding `word` that is in the page but hidden from a person (visibility, opacity,
// display), and is not the person's own message: a reply that arrived and is not shown.
([word, prompt]) => {
  const want = word.toLowerCase(), own = (prompt || '').toLowerCase();
  for (const el of document.body.querySelectorAll('*')) {
    const text = (el.textContent || '').trim();
    if (!text || text.length > 2000 || !text.toLowerCase().includes(want) || (own && text.toLowerCase().includes(own))) continue;
    if ([...el.children].some(c => (c.textContent || '').toLowerCase().includes(want))) continue;  // the innermost only
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) return text.slice(0, 80);
  }
  return null;
}
