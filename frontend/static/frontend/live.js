// Live dashboard: listens on the dashboard's stream (/ws/dashboard/), which sends the event
// frames and, after each change, the panels already rendered by the server (one render per
// kind of reader, shared by everyone watching: frontend/panels.py), whole on connect and then
// as the lines that changed (docs/live-stream.md); a change's events and panels come together
// in one "batch" frame. It swaps them in, keeps
// its own list of changes, and on (re)connect or a seq gap catches up that list from
// /api/events/?after=<seq>. It never asks the server for the panels, and has no timer: ages
// and countdowns tick in relative.js. User text from the stream is only ever set with
// textContent (never innerHTML); the panels' HTML is the server's own template, escaped there.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var panels = document.getElementById("panels");
  var feed = document.getElementById("live-feed");
  if (!live || !panels || !window.htmx || !window.breachDeskStream) { return; }
  var labels = JSON.parse(document.getElementById("live-labels").textContent);
  var lastSeq = Number(panels.dataset.seq || 0);
  var catching = false;
  var catchAgain = false;

  function setStatus(kind) {
    live.dataset.state = kind;
    live.textContent = live.getAttribute("data-label-" + kind);
  }

  // The lines of the last panels this connection sent ({seq, lines}): a delta frame lists the
  // lines it keeps from them ([i, j]: lines i to j - 1) and the new ones (strings).
  var received = null;

  function rebuilt(msg) {
    if (!received || received.seq !== msg.base) { return null; }
    var lines = [];
    msg.parts.forEach(function (part) {
      var more = typeof part === "string" ? part.split("\n") : received.lines.slice(part[0], part[1]);
      Array.prototype.push.apply(lines, more);
    });
    return lines;
  }

  // Panels as of msg.seq, unless what is shown is as new. The shared HTML carries a slot for
  // the CSRF token of its one form: this page's own token goes there.
  function showPanels(msg) {
    var lines = msg.parts ? rebuilt(msg) : msg.html.split("\n");
    if (!lines) {  // not built on what we hold (never expected): reconnect for whole panels
      received = null;
      stream.socket().close();
      return;
    }
    received = { seq: msg.seq, lines: lines };
    if (msg.seq <= Number(panels.dataset.seq || 0)) { return; }
    var own = document.querySelector("input[name=csrfmiddlewaretoken]:not([value=csrf-slot])");
    window.htmx.swap(panels, lines.join("\n"), { swapStyle: "outerHTML" });
    panels = document.getElementById("panels");
    panels.querySelectorAll("input[name=csrfmiddlewaretoken][value=csrf-slot]").forEach(
      function (input) { input.value = own ? own.value : ""; });
    if (window.breachDeskTick) { window.breachDeskTick(); }
  }

  function label(group, key) {
    return (labels[group] && labels[group][key]) || key || "";
  }

  // The server's format (the `when` filter): 2026-11-24 02:10 in English, Jalali with Persian
  // digits in Persian (۱۴۰۵/۰۹/۰۳ ۰۲:۱۰), 24-hour, in the user's zone.
  function moment(iso) {
    var persian = document.documentElement.lang === "fa";
    var options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", hourCycle: "h23", timeZone: live.dataset.timeZone };
    var format;
    try {
      format = new Intl.DateTimeFormat(persian ? "fa-IR-u-ca-persian" : "en-GB", options);
    } catch (e) {  // an unknown zone: the browser's own
      delete options.timeZone;
      format = new Intl.DateTimeFormat(persian ? "fa-IR-u-ca-persian" : "en-GB", options);
    }
    var p = {};
    format.formatToParts(new Date(iso)).forEach(function (part) { p[part.type] = part.value; });
    var sep = persian ? "/" : "-";
    return p.year + sep + p.month + sep + p.day + " " + p.hour + ":" + p.minute;
  }

  function addFeed(event, incident) {
    var item = document.createElement("li");
    item.dataset.seq = String(event.seq);
    var when = document.createElement("time");
    when.dateTime = event.created_at;
    when.textContent = moment(event.created_at);
    var ref = document.createElement("a");
    ref.href = "/incidents/" + encodeURIComponent(incident.reference) + "/";
    ref.textContent = incident.reference;
    // User text in its own <bdi>, as in the server's timeline (event_item.html): a Latin title
    // inside Persian text was otherwise reordered with the words around it.
    var title = document.createElement("bdi");
    title.className = "title";
    title.textContent = incident.title || "";
    var what = document.createElement("strong");
    what.textContent = label("events", event.kind);
    item.append(when, " ", ref, " ", title, " · ", what);
    if (event.from_state && event.to_state) {
      item.append(" (" + label("states", event.from_state) + " → " + label("states", event.to_state) + ")");
    }
    if (event.actor) {
      var actor = document.createElement("bdi");
      actor.textContent = event.actor;
      item.append(" · ", actor);
    }
    var empty = feed.querySelector(".muted");
    if (empty) { empty.remove(); }
    feed.insertBefore(item, feed.firstChild);
    while (feed.children.length > 30) { feed.removeChild(feed.lastChild); }
  }

  function catchUp() {
    if (catching) { catchAgain = true; return; }
    catching = true;
    var url = live.dataset.feed + "?after=" + lastSeq;
    function page(address) {
      return fetch(address, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("feed " + r.status); } return r.json(); })
        .then(function (body) {
          (body.results || []).forEach(function (e) {
            if (e.seq > lastSeq) { lastSeq = e.seq; addFeed(e, e.incident_summary); }
          });
          return body.next ? page(body.next) : null;
        });
    }
    page(url).catch(function () { /* the next hello retries */ }).then(function () {
      catching = false;
      if (catchAgain) { catchAgain = false; catchUp(); }
    });
  }

  function onMessage(msg) {
    if (msg.type === "batch") {
      msg.frames.forEach(onMessage);
    } else if (msg.type === "hello") {
      received = null;  // a new connection starts with whole panels
      setStatus("live");
      catchUp();
    } else if (msg.type === "event") {
      if (msg.seq <= lastSeq) { return; }
      if (msg.seq > lastSeq + 1 || catching) { catchUp(); return; }
      lastSeq = msg.seq;
      addFeed(msg.event, msg.incident || msg.event.incident_summary || { reference: msg.event.incident });
    } else if (msg.type === "panels") {
      showPanels(msg);
    } else if (msg.type === "heartbeat" && msg.seq > lastSeq) {
      // A push was lost while the socket stayed open (e.g. Redis restarted): fetch what we missed.
      catchUp();
    }
  }

  var stream = window.breachDeskStream(live.dataset.wsPath, {
    message: onMessage,
    retrying: function (attempt) { setStatus(attempt > 3 ? "offline" : "reconnecting"); },
    ended: function () { setStatus("ended"); }
  });
  // For operators and the browser tests: the current socket (e.g. to drop it on purpose).
  window.breachDeskLive = { socket: stream.socket };
}());
