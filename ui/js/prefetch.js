// ui/js/prefetch.js — a classic script (not a module) that runs as soon as
// it arrives: on a trace page it starts the trace's query at once, while the
// modules are still loading; api.js takes the response over. For a big
// trace this saves the module load time from the time to the first waterfall.
(function () {
  var m = /^\/trace\/([0-9a-fA-F]{1,32})\/?$/.exec(location.pathname);
  if (!m || !window.fetch) return;
  var p = fetch('/api/traces/' + m[1], {headers: {Accept: 'application/json'}});
  p.catch(function () { /* api.js reports it */ });
  window.__stitchPrefetch = {path: '/api/traces/' + m[1], response: p};
})();
