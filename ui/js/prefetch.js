// ui/js/prefetch.js — a classic script (not a module), first in <head>: on
// a trace page it starts the trace's query at once and reads and parses the
// answer as it comes, while the stylesheet and the modules are still
// loading; api.js takes the result over ({res, text, json}). For a big
// trace this takes the transfer and JSON.parse off the time after the
// modules have run. It sends the query token as api.js does
// (sessionStorage 'stitch.token'), and sets the same performance marks
// (bench/ui_bench.mjs reads them).
(function () {
  var m = /^\/trace\/([0-9a-fA-F]{1,32})\/?$/.exec(location.pathname);
  if (!m || !window.fetch) return;
  var headers = {Accept: 'application/json'};
  try {
    var t = sessionStorage.getItem('stitch.token');
    if (t) headers.Authorization = 'Bearer ' + t;
  } catch (e) { /* storage disabled: no token */ }
  var path = '/api/ui/traces/' + m[1];
  var p = fetch(path, {headers: headers}).then(function (res) {
    return res.text().then(function (text) {
      var out = {res: res, text: text, token: !!headers.Authorization};
      if (res.ok) {
        performance.mark('stitch:trace-received');
        try {
          out.json = JSON.parse(text);
          performance.mark('stitch:trace-parsed');
        } catch (e) { /* api.js reports it */ }
      }
      return out;
    });
  });
  p.catch(function () { /* api.js reports it */ });
  window.__stitchPrefetch = {path: path, result: p};
})();
