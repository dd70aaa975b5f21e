// Live updates for the station page: every few seconds, each element with data-live is
// replaced by a fresh server-rendered fragment of itself. Without JavaScript the page still
// works (plain links and forms); this only saves a reload. No third-party code.
(function () {
  "use strict";
  var period = parseInt(document.body.getAttribute("data-refresh-ms"), 10) || 5000;
  function refresh() {
    var parts = document.querySelectorAll("[data-live]");
    Array.prototype.forEach.call(parts, function (el) {
      if (el.contains(document.activeElement) && document.activeElement !== document.body) {
        return; // do not replace what the operator is typing into
      }
      fetch(el.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
        .then(function (html) { el.innerHTML = html; document.body.classList.remove("stale"); })
        .catch(function () { document.body.classList.add("stale"); });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-js-text]"), function (el) {
    el.textContent = el.getAttribute("data-js-text"); // true only while this script runs
  });
  if (document.querySelector("[data-live]")) {
    window.setInterval(refresh, period);
  }
})();
