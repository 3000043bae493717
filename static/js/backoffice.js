/* Back-office enhancements. Every page works without this file. */
(function () {
  "use strict";

  // A key typed into a field is text, never a shortcut.
  function typing(target) {
    if (!target || !target.closest) { return false; }
    return Boolean(target.isContentEditable || target.closest("input, textarea, select, [contenteditable]"));
  }

  // The list: j/k move between rows, Enter/o open, x ticks, "/" goes to the search; the rows'
  // checkboxes feed the bulk form above the table ("Tout sélectionner" in the header).
  function setUpList() {
    var rows = Array.prototype.slice.call(document.querySelectorAll(".bo-table tbody tr"));
    var current = -1;
    var all = document.getElementById("select-all");
    var count = document.getElementById("bulk-count");
    var boxes = rows.map(function (row) { return row.querySelector(".bo-select"); }).filter(Boolean);

    function updateCount() {
      var ticked = boxes.filter(function (box) { return box.checked; }).length;
      if (count) {
        count.textContent = ticked ? ticked + " réclamation" + (ticked > 1 ? "s" : "") + " cochée" +
          (ticked > 1 ? "s" : "") + " :" : "Lignes cochées :";
      }
      if (all) {
        all.checked = ticked > 0 && ticked === boxes.length;
        all.indeterminate = ticked > 0 && ticked < boxes.length;
      }
      rows.forEach(function (row) {
        var box = row.querySelector(".bo-select");
        row.classList.toggle("bo-row-selected", Boolean(box && box.checked));
      });
    }

    if (all && boxes.length) {
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        updateCount();
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", updateCount); });
    updateCount();

    function focusRow(index) {
      if (!rows.length) { return; }
      current = Math.max(0, Math.min(rows.length - 1, index));
      rows.forEach(function (row, i) { row.classList.toggle("bo-row-current", i === current); });
      var link = rows[current].querySelector("a");
      if (link) { link.focus(); }
    }
    // A click or Tab onto a row makes it the current one, so j/k go on from there.
    rows.forEach(function (row, i) {
      row.addEventListener("focusin", function () {
        current = i;
        rows.forEach(function (other, j) { other.classList.toggle("bo-row-current", j === i); });
      });
    });

    return function (event) {
      var key = event.key;
      if (key === "j") { focusRow(current + 1); return true; }
      if (key === "k") { focusRow(current < 0 ? 0 : current - 1); return true; }
      if ((key === "Enter" || key === "o") && current >= 0 && !event.target.closest("a, button")) {
        var link = rows[current].querySelector("a");
        if (link) { window.location.href = link.href; return true; }
      }
      if (key === "x" && current >= 0) {
        var box = rows[current].querySelector(".bo-select");
        if (box) { box.checked = !box.checked; updateCount(); return true; }
      }
      if (key === "/") {
        var search = document.querySelector(".bo-filters input[type=search]");
        if (search) { search.focus(); search.select(); return true; }
      }
      return false;
    };
  }

  // The record page: r writes to the client, e goes to the step's form, u back to the list.
  function setUpRecord() {
    function go(selector) {
      var target = document.querySelector(selector);
      if (!target) { return false; }
      var field = target.matches("input, textarea, select") ? target
        : target.querySelector("textarea, input:not([type=hidden]), select");
      target.scrollIntoView({ block: "start" });
      (field || target).focus();
      return true;
    }
    return function (event) {
      if (event.key === "r") {
        if (go("form[action$='/messages/'] textarea")) { return true; }
        // A folded message form: opening its <details> fetches it (backoffice/_folded.html).
        var folded = document.getElementById("formulaire-message");
        var details = folded && folded.closest("details");
        if (details) { details.open = true; details.scrollIntoView({ block: "start" }); return true; }
        return false;
      }
      if (event.key === "e") { return go("#etape"); }
      if (event.key === "u") {
        var list = document.querySelector(".bo-nav a[href$='/reclamations/']");
        if (list) { window.location.href = list.href; return true; }
      }
      return false;
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    // After a refused or invalid submission, bring the message into view and give it focus,
    // so that keyboard and screen-reader users land on what went wrong.
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

    var help = document.getElementById("raccourcis");
    if (!help || typeof help.showModal !== "function") { return; }
    var handle = document.querySelector(".bo-table") ? setUpList() : setUpRecord();
    document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { help.showModal(); });
    });

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (help.open || typing(event.target)) { return; }
      if (event.key === "?") { help.showModal(); event.preventDefault(); return; }
      if (handle(event)) { event.preventDefault(); }
    });
  });
})();
