// Public pages. Everything works without this file; it only makes errors and sending smoother.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    // After a refused submission, move the focus to the error summary so it is read first.
    var summary = document.getElementById("resume-erreurs");
    if (summary) {
      summary.focus();
    }

    // One click sends the form once: a double click must not file the same request twice.
    var forms = document.querySelectorAll("form[data-disable-on-submit]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function () {
        var buttons = form.querySelectorAll("button[type=submit]");
        Array.prototype.forEach.call(buttons, function (button) {
          button.setAttribute("disabled", "disabled");
          button.setAttribute("aria-busy", "true");
          button.dataset.label = button.textContent;
          button.textContent = "Envoi en cours…";
        });
      });
    });
  });

  // Back to a page kept in the browser's cache: its buttons must work again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    var buttons = document.querySelectorAll("form[data-disable-on-submit] button[type=submit][disabled]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.removeAttribute("disabled");
      button.removeAttribute("aria-busy");
      if (button.dataset.label) {
        button.textContent = button.dataset.label;
      }
    });
  });
})();
