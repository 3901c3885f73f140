// Similar claims under the claim text, refreshed while the fact-checker types (debounced).
// A static file, not an inline script: the admin runs under a Content-Security-Policy.
"use strict";
(function () {
  const DELAY_MS = 400;
  const MIN_CHARS = 12;

  function render(block, results) {
    const list = block.querySelector(".similar-claims-list");
    const none = block.querySelector(".similar-claims-none");
    list.replaceChildren();
    for (const item of results) {
      const entry = document.createElement("li");
      const link = document.createElement("a");
      link.href = item.admin_url;
      link.textContent = "#" + item.id + " " + item.text;
      entry.append(link);
      const details = [item.status, item.rating || "no rating", "score " + item.score.toFixed(2)];
      entry.append(" — " + details.join(", ") + (item.same_claim ? " — already checked" : ""));
      list.append(entry);
    }
    none.hidden = results.length > 0;
  }

  function watch(block) {
    const text = document.getElementById("id_text");
    if (!text) {
      return;
    }
    let timer = null;
    let asked = 0;
    text.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        const value = text.value.trim();
        if (value.length < MIN_CHARS) {
          render(block, []);
          return;
        }
        const query = new URLSearchParams({ text: value, exclude: block.dataset.exclude });
        const number = ++asked;
        fetch(block.dataset.url + "?" + query, { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (body) {
            if (number === asked) {  // an older answer arriving late must not replace a newer one
              render(block, body.results);
            }
          })
          .catch(function () {});
      }, DELAY_MS);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".similar-claims").forEach(watch);
  });
})();
