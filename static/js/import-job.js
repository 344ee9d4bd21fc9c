// An import job's page: poll its status and move the progress bar; reload the page
// when the job stops running (the preview, the errors or the result are drawn by the
// server). Without JavaScript the page refreshes itself (<noscript> meta refresh).
(function () {
  "use strict";
  var box = document.querySelector("[data-import-status]");
  if (!box) { return; }
  var url = box.getAttribute("data-import-status");
  var bar = box.querySelector("progress");
  var count = box.querySelector("[data-import-count]");
  var phase = box.querySelector("[data-import-phase]");
  var number = new Intl.NumberFormat();

  function show(s) {
    bar.max = Math.max(s.total, 1);
    bar.value = s.done;
    bar.textContent = s.percent + "%";
    if (s.done) {
      count.textContent = number.format(s.done) + " of " + number.format(s.total) + " lines (" + s.percent + "%)";
    }
    if (s.state === "importing") {
      phase.textContent = s.phase === "writing" ? "Writing the file…" : "Checking the file again before writing it…";
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (s) {
        if (!s.running) { window.location.reload(); return; }
        show(s);
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  window.setTimeout(poll, 1000);
}());
