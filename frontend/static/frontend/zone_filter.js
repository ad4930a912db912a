// The profile's time-zone picker: a search box that narrows the grouped list to the zones
// whose place, region or offset contains what is typed; the first match is selected so that
// "Save" takes it. No inline script (strict CSP): this file finds its box by id.
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("zone-filter");
    if (!box) return;
    var select = document.getElementById(box.dataset.select);
    var search = document.getElementById("zone-search");
    var count = document.getElementById("zone-count");
    if (!select || !search) return;
    select.closest(".field").before(box);
    box.hidden = false;
    var digits = { "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9" };
    function plain(text) {
      return text.toLowerCase().replace(/[۰-۹]/g, function (d) { return digits[d]; });
    }
    search.addEventListener("input", function () {
      var wanted = plain(search.value.trim());
      var shown = 0, first = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var group = option.parentElement.label || "";
        var hit = !wanted || plain(option.value + " " + option.text + " " + group).indexOf(wanted) !== -1;
        option.hidden = !hit;
        if (hit) { shown += 1; first = first || option; }
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      if (wanted && first && select.selectedOptions[0] && select.selectedOptions[0].hidden) {
        first.selected = true;
      }
      count.textContent = wanted ? count.dataset.template.replace("{n}", shown.toLocaleString(document.documentElement.lang)) : "";
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
