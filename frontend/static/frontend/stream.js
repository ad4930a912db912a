// One connection to the event stream, shared by the dashboard (live.js) and the incident page
// (incident_live.js): parses each frame, reconnects with backoff (a step of 0.5 s doubling to
// 15 s, each wait at random between half and twice the step), and stops for good when the
// server says retrying cannot help (signed out, no role, no such incident: 4401/4403/4404; a
// reload shows the sign-in page or the reason).
//   breachDeskStream(path, { message(msg), retrying(attempt), ended() }) -> { socket() }
(function () {
  "use strict";
  window.breachDeskStream = function (path, on) {
    var socket = null;
    var retry = 0;

    function retryLater() {
      if (on.retrying) { on.retrying(retry); }
      // Spread over the whole step, not a few hundred ms: after a deploy every open page
      // reconnects, and a thousand at the same instant is a storm the servers queue.
      var step = Math.min(15000, 500 * Math.pow(2, retry));
      var delay = step / 2 + Math.random() * step * 1.5;
      retry += 1;
      window.setTimeout(connect, delay);
    }

    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      try {
        socket = new WebSocket(scheme + window.location.host + path);
      } catch (e) {
        retryLater();  // a refused constructor must not end the reconnect loop
        return;
      }
      socket.addEventListener("message", function (message) {
        var msg;
        try { msg = JSON.parse(message.data); } catch (e) { return; }
        if (msg.type === "hello") { retry = 0; }
        on.message(msg);
      });
      socket.addEventListener("close", function (event) {
        if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
          if (on.ended) { on.ended(); }
          return;
        }
        retryLater();
      });
    }

    connect();
    return { socket: function () { return socket; } };
  };
}());
