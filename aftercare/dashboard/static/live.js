// Live refresh for the team load page: fetch the server-rendered fragment every few seconds.
// Vendored, dependency-free; loaded with script-src 'self' (no inline script anywhere).
(function () {
  "use strict";
  function start(box) {
    var src = box.getAttribute("data-live-src");
    var seconds = parseInt(box.getAttribute("data-live-seconds"), 10) || 10;
    var timer = null;
    function tick() {
      fetch(src, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}, cache: "no-store"})
        .then(function (response) {
          if (response.status === 401) { window.clearInterval(timer); window.location.reload(); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) { if (html !== null) { box.innerHTML = html; } })
        .catch(function () { /* keep the last picture; try again on the next tick */ });
    }
    timer = window.setInterval(tick, seconds * 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("[data-live-src]");
    for (var i = 0; i < boxes.length; i++) { start(boxes[i]); }
  });
})();
