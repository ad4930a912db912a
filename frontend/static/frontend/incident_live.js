// Incident page: says when someone else changes this incident while it is open, so nobody
// edits a stale page without knowing. It never reloads by itself: that would throw away what
// the person is typing. Listens on /ws/incidents/<reference>/ and, on (re)connect, asks
// /api/events/?after=<seq>&incident=<reference> for what happened while it was not listening.
// Text from the server is only ever set with textContent.
(function () {
  "use strict";
  var notice = document.getElementById("changed");
  if (!notice || !window.breachDeskStream) { return; }
  var text = notice.querySelector(".what");
  var labels = JSON.parse(document.getElementById("event-labels").textContent);
  var lastSeq = Number(notice.dataset.seq || 0);
  var me = notice.dataset.user;

  // The people affected and the notices (legal, admins, executives): their numbers are
  // fetched again on a register or campaign event (the answer swaps the numbers only, never a
  // form, so nothing typed is lost). The worker's steps (no actor) change nothing a person
  // could be editing: they update those numbers without the notice.
  var notices = /^(campaign|register)\./;
  var pending = null;
  function refreshNotices() {  // a burst of events (a catch-up) costs one request
    if (pending) { return; }
    pending = window.setTimeout(function () {
      pending = null;
      var poll = document.getElementById("notices-poll");
      if (!poll || !window.htmx) { return; }
      window.htmx.ajax("GET", poll.dataset.url, { target: "#notices-poll", swap: "outerHTML" });
    }, 150);
  }

  // The translated sentence with the kind and the person in their own nodes: the person's name
  // (user text, often Latin in a Persian sentence) in a <bdi>, so it is not reordered with the
  // words around it, as in the server's timeline. Never innerHTML.
  function say(what, who) {
    var parts = notice.dataset.template.split(/(\{what\}|\{who\})/);
    text.textContent = "";
    parts.forEach(function (part) {
      if (part === "{what}") {
        var strong = document.createElement("strong");
        strong.textContent = what;
        text.append(strong);
      } else if (part === "{who}") {
        var name = document.createElement("bdi");
        name.textContent = who;
        text.append(name);
      } else if (part) {
        text.append(part);
      }
    });
  }

  function seen(event) {
    if (event.seq <= lastSeq) { return; }
    lastSeq = event.seq;
    if (notices.test(event.kind)) {
      refreshNotices();
      if (!event.actor) { return; }
    }
    if (event.actor === me) { return; }  // this person's own change in another tab
    say(labels[event.kind] || event.kind, event.actor || "—");
    notice.hidden = false;
  }

  function catchUp() {
    var url = notice.dataset.feed + "?incident=" + encodeURIComponent(notice.dataset.reference) +
      "&after=" + lastSeq;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("feed " + r.status); } return r.json(); })
      .then(function (body) { (body.results || []).forEach(seen); })
      .catch(function () { /* the next hello or heartbeat tries again */ });
  }

  window.breachDeskStream(notice.dataset.wsPath, {
    message: function (msg) {
      if (msg.type === "hello") { catchUp(); }
      else if (msg.type === "event" && msg.event) { seen(msg.event); }
      else if (msg.type === "heartbeat" && msg.seq > lastSeq) { catchUp(); }
    }
  });
}());
