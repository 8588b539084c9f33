// Job page: poll the status endpoint and move the bar; go to the result when the job is done.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("job-progress");
  var stage = document.getElementById("job-stage");
  var percent = document.getElementById("job-percent");
  var eta = document.getElementById("job-eta");
  var failure = document.getElementById("job-failure");
  var delay = 250;

  function show(status) {
    bar.value = status.percent;
    bar.textContent = status.percent + "%";
    percent.textContent = status.percent;
    stage.textContent = status.stage_label;
    eta.textContent = status.eta_seconds ? "about " + Math.ceil(status.eta_seconds) + " s left" : "";
    if (status.status === "failed" || status.status === "cancelled") {
      failure.hidden = false;
      failure.textContent = status.status + ": " + status.failure_reason;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        show(status);
        if (status.status === "done" && status.result_url) {
          window.location.assign(status.result_url);
          return;
        }
        if (status.status === "failed" || status.status === "cancelled") { return; }
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  poll();
})();
