// Before first paint (a classic script in <head>, not a module), so a dark-theme user
// never sees a white flash. A file, not an inline script: the page's CSP allows none.
try { const t = localStorage.getItem("netra.theme"); if (t) document.documentElement.dataset.theme = t; } catch (e) {}
