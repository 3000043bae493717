// Audit exports page. Everything works without this file: it only says that the file is being
// prepared, and avoids a second generation by a double click.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-audit-form]");
    if (!form) { return; }
    var status = form.querySelector("[data-audit-status]");
    form.addEventListener("submit", function (event) {
      var buttons = form.querySelectorAll("button[type=submit]");
      // The download keeps the page where it is: the buttons come back after a while.
      window.setTimeout(function () {
        Array.prototype.forEach.call(buttons, function (button) {
          button.disabled = true;
          button.setAttribute("aria-busy", "true");
        });
      }, 0);
      if (status) {
        status.textContent = "Génération en cours… Le téléchargement commencera automatiquement.";
        status.classList.remove("visually-hidden");
      }
      window.setTimeout(function () {
        Array.prototype.forEach.call(buttons, function (button) {
          button.disabled = false;
          button.removeAttribute("aria-busy");
        });
        if (status) { status.classList.add("visually-hidden"); }
      }, 15000);
    });
  });
})();
