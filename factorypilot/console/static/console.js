// factorypilot console: the one live part, a few lines of vanilla JS (no framework, nothing fetched from
// elsewhere). The Approvals page asks every 2 s which requests are pending; when the set changes it reloads,
// unless someone is typing in a form (then it shows a "reload" notice instead).
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var shown = live.getAttribute("data-pending") || "";
  var busy = false;
  document.addEventListener("input", function () { busy = true; });
  function poll() {
    fetch(live.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var now = data.runs.join(" ");
        if (now !== shown) {
          if (busy || (document.activeElement && document.activeElement.tagName === "INPUT")) {
            live.hidden = false;
          } else {
            window.location.assign(live.getAttribute("data-page"));  // a GET, never a re-sent form
          }
        }
      })
      .catch(function () { /* the server restarts: try again on the next tick */ });
  }
  window.setInterval(poll, 2000);
})();
