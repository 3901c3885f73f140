// The claim page's evidence badges, kept current without a reload (SPEC §8 "Live status").
// While any source of the claim is pending or fetching, or any quote is still to be checked, the
// page asks the claim's live-status endpoint for the fetch and quote-check cells, rendered there by
// the same code as the page, and puts them in place; it stops once everything is settled. A static
// file, so it runs under a Content-Security-Policy that allows no inline script.
// The admin loads it in <head>, before the evidence it looks for is parsed.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var group = document.querySelector("[data-live-status-url]");
  if (!group || !group.hasAttribute("data-live-status-pending")) {
    return;
  }
  var url = group.getAttribute("data-live-status-url");
  var cells = ["fetch_outcome", "quote_check"];
  // A fetch takes seconds; a page left open overnight should not poll all night.
  var giveUpAt = Date.now() + 30 * 60 * 1000;
  var delay = 1000;

  function apply(status) {
    status.evidence.forEach(function (item) {
      var row = group.querySelector('tr.evidence-row[data-evidence="' + item.id + '"]');
      if (!row) {
        return;
      }
      cells.forEach(function (name) {
        var cell = row.querySelector("td.field-" + name + " .live-status");
        if (cell && cell.innerHTML !== item[name]) {
          cell.innerHTML = item[name];
        }
      });
    });
  }

  function schedule() {
    if (Date.now() < giveUpAt) {
      window.setTimeout(poll, delay);
    }
  }

  function poll() {
    window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : Promise.reject(response.status);
      })
      .then(function (status) {
        apply(status);
        if (status.settled) {
          group.removeAttribute("data-live-status-pending");
          group.setAttribute("data-live-status-settled", "");
          return;
        }
        // Quick at first, when most fetches land, then gentler on the server.
        delay = Math.min(delay * 1.5, 5000);
        schedule();
      })
      .catch(function () {
        delay = Math.min(delay * 2, 30000);
        schedule();
      });
  }

  schedule();
});
