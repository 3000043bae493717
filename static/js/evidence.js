// Audit exports page. Everything works without this file: it only says that the request is on its
// way, and avoids a second request by a double click. (The pack is prepared in the background and
// its own page refreshes itself with <meta http-equiv="refresh">; no script is needed there.)
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-evidence-form]");
    if (!form) { return; }
    var status = form.querySelector("[data-evidence-status]");
    form.addEventListener("submit", function () {
      var buttons = form.querySelectorAll("button[type=submit]");
      // Disabled after the submission has started, so that the clicked button's formaction counts.
      window.setTimeout(function () {
        Array.prototype.forEach.call(buttons, function (button) {
          button.disabled = true;
          button.setAttribute("aria-busy", "true");
        });
      }, 0);
      if (status) {
        status.textContent = "Demande envoyée, veuillez patienter…";
        status.classList.remove("visually-hidden");
      }
      // A register download keeps the page where it is: the buttons come back after a while.
      window.setTimeout(function () {
        Array.prototype.forEach.call(buttons, function (button) {
          button.disabled = false;
          button.removeAttribute("aria-busy");
        });
        if (status) { status.classList.add("visually-hidden"); }
      }, 10000);
    });
  });
})();
