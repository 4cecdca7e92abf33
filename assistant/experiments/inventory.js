// What the page's origin keeps besides cookies and the HTTP cache (for clear's report).
async () => ({
  local: Object.keys(localStorage),
  session: Object.keys(sessionStorage),
  indexeddb: indexedDB.databases ? (await indexedDB.databases()).map(d => d.name) : [],
  workers: navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).length : 0,
})
