// After a refused form the page opens with a summary of what went wrong
// (partials/error_summary.html): move focus to it, so a keyboard or screen-reader user starts
// there rather than at the top of an unchanged-looking page. External file: the CSP allows no
// inline script.
(function () {
  "use strict";
  function focusSummary() {
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) {
      summary.focus();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
})();
