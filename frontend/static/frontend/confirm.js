// Confirmation of destructive steps (Dismiss, Close, Withdraw, Not required, Cancel a notice...):
// a submit button with data-confirm="<dialog id>" opens that <dialog> (partials/confirm.html,
// inside the same form) instead of sending; the dialog's own submit button sends the form.
// Without this script, or without <dialog> support, the button simply sends the form.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var trigger = event.target.closest("[data-confirm]");
    if (trigger) {
      var dialog = document.getElementById(trigger.dataset.confirm);
      if (!dialog || typeof dialog.showModal !== "function") return;
      event.preventDefault();
      // Say what is missing before asking "are you sure?", not after.
      if (trigger.form && !trigger.form.reportValidity()) return;
      dialog.showModal();
      return;
    }
    var closer = event.target.closest("dialog [data-close]");
    if (closer) closer.closest("dialog").close();
  });
})();
