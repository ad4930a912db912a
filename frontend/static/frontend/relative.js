// Relative times ("12 minutes ago", "in 3 hours"; "۱۲ دقیقه پیش" in Persian), rendered by the
// server (the `ago` template filter) and kept current here every minute from each <time>'s
// datetime, in the page's language. The exact moment stays in the title (hover, focus). The
// deadlines' countdowns, the dashboard's ages and times in state (<time class="elapsed">) and
// its "overdue" marks ([data-overdue-after]) tick on the same clock, so that the server never
// re-renders a page only because time passed. The dashboard's live script calls
// window.breachDeskTick() after it swaps in fresh panels.
(function () {
  "use strict";
  if (typeof Intl === "undefined" || !Intl.RelativeTimeFormat || !Intl.NumberFormat) return;
  var lang = document.documentElement.lang || "en";
  var format = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  var units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  function words(seconds) {
    var size = Math.abs(seconds);
    if (size < 60) return format.format(0, "second");
    // Two days and more read in days; under that in hours, under an hour in minutes.
    for (var i = 0; i < units.length; i += 1) {
      var step = units[i];
      if (size >= (step[0] === "day" ? 2 * step[1] : step[1])) {
        return format.format(Math.trunc(seconds / step[1]), step[0]);
      }
    }
    return format.format(Math.trunc(seconds / 60), "minute");
  }
  function refresh() {
    var now = Date.now();
    document.querySelectorAll("time.ago[datetime]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var seconds = (at - now) / 1000;
      el.textContent = words(seconds);
      el.classList.toggle("past", seconds < 0);
    });
  }

  // Deadlines count down ("in 5 hours 20 minutes", "2 hours overdue"): the sentence comes from
  // the server (data-future, data-past, translated), the span from the due time and the clock.
  function unit(name, n) {
    try {
      return new Intl.NumberFormat(lang, { style: "unit", unit: name, unitDisplay: "long" }).format(n);
    } catch (e) {
      return null;
    }
  }
  // The two largest units, as the server's `duration` filter writes them.
  function span(seconds) {
    var minutes = Math.max(0, Math.floor(seconds / 60));
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    var parts = [];
    if (days) parts.push(unit("day", days));
    if (hours && parts.length < 2) parts.push(unit("hour", hours));
    if (!days && (mins || !parts.length)) parts.push(unit("minute", mins));
    return parts.indexOf(null) === -1 ? parts.join(" ") : null;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var left = (at - now) / 1000;
      var text = span(Math.abs(left));
      var sentence = left >= 0 ? el.dataset.future : el.dataset.past;
      if (text && sentence) el.textContent = sentence.replace("{}", text);
    });
  }
  function elapse(now) {
    document.querySelectorAll("time.elapsed[datetime]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var text = span((now - at) / 1000);
      if (text) el.textContent = text;
    });
  }
  // A mark that shows once its moment passes ([data-overdue-shows]: hidden until then), or an
  // item that takes the "overdue" class then (a deadline: its countdown also turns strong).
  function overdue(now) {
    document.querySelectorAll("[data-overdue-after]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("data-overdue-after"));
      if (isNaN(at) || now < at) return;
      if (el.hasAttribute("data-overdue-shows")) { el.hidden = false; return; }
      el.classList.add("overdue");
      var countdown = el.querySelector("time.countdown");
      var words = countdown && countdown.parentNode;
      if (words && words.parentNode.tagName !== "STRONG") {
        var strong = document.createElement("strong");
        words.replaceWith(strong);
        strong.append(words);
      }
    });
  }
  function all() {
    var now = Date.now();
    refresh();
    tick();
    elapse(now);
    overdue(now);
  }
  window.breachDeskTick = all;
  function start() {  // one clock for all: the words, countdowns and marks move together
    all();
    setInterval(all, 60000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
