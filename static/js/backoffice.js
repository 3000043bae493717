/* Back-office enhancements. Every page works without this file. */
(function () {
  "use strict";

  // After a refused or invalid submission, bring the message into view and give it focus,
  // so that keyboard and screen-reader users land on what went wrong.
  document.addEventListener("DOMContentLoaded", function () {
    var problem = document.querySelector("#refus, .bo-error-summary, #alerte");
    if (problem) {
      if (!problem.hasAttribute("tabindex")) { problem.setAttribute("tabindex", "-1"); }
      problem.focus({ preventScroll: false });
    }

    // Choosing a starting text for a message fills the form at once (the "Préparer" button stays
    // for use without JavaScript).
    document.querySelectorAll(".bo-template-picker select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
})();
