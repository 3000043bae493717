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

    // The record page's tabs (Conversation, Historique): links that reload the page without
    // JavaScript; here they switch in place, with the arrow keys, Home and End (ARIA tabs pattern).
    document.querySelectorAll("[role=tablist]").forEach(function (list) {
      var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
      function select(tab, focus) {
        tabs.forEach(function (other) {
          var on = other === tab;
          other.setAttribute("aria-selected", on ? "true" : "false");
          other.classList.toggle("active", on);
          if (on) { other.removeAttribute("tabindex"); } else { other.setAttribute("tabindex", "-1"); }
          var panel = document.getElementById(other.getAttribute("aria-controls"));
          if (panel) { panel.hidden = !on; }
        });
        if (focus) { tab.focus(); }
      }
      tabs.forEach(function (tab, index) {
        tab.addEventListener("click", function (event) { event.preventDefault(); select(tab, false); });
        tab.addEventListener("keydown", function (event) {
          var next = null;
          if (event.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
          else if (event.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
          else if (event.key === "Home") { next = tabs[0]; }
          else if (event.key === "End") { next = tabs[tabs.length - 1]; }
          if (next) { event.preventDefault(); select(next, true); }
        });
      });
    });
  });
})();
