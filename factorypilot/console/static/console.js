// factorypilot console: the live parts, a few lines of vanilla JS (no framework, nothing fetched from elsewhere).
// One server-sent-events stream per page (/api/stream). "pending": the set of pending approvals changed — the
// Approvals page reloads with a GET (never a re-sent form), or shows a "reload" notice while someone types.
// "values": a pilot's subscribed live values — the Pilots page updates the cells in place.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var stream = document.getElementById("stream");
  var url = (live && live.getAttribute("data-url")) || (stream && stream.getAttribute("data-url"));
  if (!url || !window.EventSource) { return; }
  var busy = false;
  document.addEventListener("input", function () { busy = true; });
  var source = new EventSource(url);
  source.addEventListener("pending", function (ev) {
    if (!live) { return; }
    var now = JSON.parse(ev.data).runs.join(" ");
    if (now === (live.getAttribute("data-pending") || "")) { return; }
    if (busy || (document.activeElement && document.activeElement.tagName === "INPUT")) {
      live.hidden = false;
    } else {
      source.close();
      window.location.assign(live.getAttribute("data-page"));
    }
  });
  source.addEventListener("values", function (ev) {
    var data = JSON.parse(ev.data);
    Object.keys(data.values).forEach(function (role) {
      var key = data.pilot + "|" + role, v = data.values[role];
      var cell = document.querySelector('[data-live="' + CSS.escape(key) + '"]');
      if (cell) {
        cell.textContent = String(v.value);
        cell.setAttribute("data-source", "live");
        cell.setAttribute("data-quality", v.quality);
      }
      var time = document.querySelector('[data-live-time="' + CSS.escape(key) + '"]');
      if (time) { time.textContent = v.time; }
    });
    var err = document.querySelector('[data-live-error="' + CSS.escape(data.pilot) + '"]');
    if (err) {
      err.hidden = !data.error;
      err.querySelector("span").textContent = data.error || "";
    }
  });
})();
