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

  // The record page: j/k the next/previous record of the list it was opened from, r writes to the
  // client, e goes to the step's "save and complete" button (focus only: Enter confirms), u back
  // to the list.
  function setUpRecord() {
    function follow(id) {
      var link = document.getElementById(id);
      if (!link) { return false; }
      window.location.href = link.href;
      return true;
    }
    // What "e" lands on: the button that saves the step's form and completes the step, or the
    // one that completes it, or else the step's first field. Never clicked: nothing happens
    // until the person presses Enter.
    function step() {
      var section = document.getElementById("etape");
      if (!section) { return false; }
      var shown = Array.prototype.filter.call(section.querySelectorAll(".bo-save-complete, .bo-complete button"),
        function (el) { return el.offsetParent !== null && !el.disabled; });  // not in a folded part
      var button = shown[0];
      if (!button) { return go("#etape"); }
      button.scrollIntoView({ block: "center" });
      button.focus();
      return true;
    }
    function go(selector) {
      var target = document.querySelector(selector);
      if (!target) { return false; }
      var field = target.matches("input, textarea, select") ? target
        : target.querySelector("textarea, input:not([type=hidden]), select");
      // A field in a folded part (e.g. the step's "write to the client" <details>): unfold it, or
      // the focus would go nowhere.
      for (var fold = (field || target).closest("details"); fold; fold = fold.parentElement.closest("details")) {
        fold.open = true;
      }
      target.scrollIntoView({ block: "start" });
      (field || target).focus();
      return true;
    }
    return function (event) {
      if (event.key === "j") { return follow("reclamation-suivante"); }
      if (event.key === "k") { return follow("reclamation-precedente"); }
      if (event.key === "r") {
        // The reply box is in the Conversation tab: show it if the History tab is open.
        var tab = document.getElementById("onglet-conversation");
        if (tab && tab.getAttribute("aria-selected") !== "true") { tab.click(); }
        if (go("form[action$='/messages/'] textarea")) { return true; }
        // A folded message form: opening its <details> fetches it (backoffice/_folded.html); its
        // box gets the focus when it arrives (the htmx:load listener below).
        var folded = document.getElementById("formulaire-message");
        var details = folded && folded.closest("details");
        if (details) {
          replyWanted = true;
          details.open = true;
          details.scrollIntoView({ block: "start" });
          return true;
        }
        return false;
      }
      if (event.key === "e") { return step(); }
      if (event.key === "u") {
        var list = document.querySelector(".bo-nav a[href$='/reclamations/']");
        if (list) { window.location.href = list.href; return true; }
      }
      return false;
    };
  }

  // --- Nothing typed is lost (a record's page) ------------------------------------------------
  // A record's page holds several forms; submitting one reloads the page (or, for the action plan,
  // swaps that part in place). What is typed in the others is kept in sessionStorage, keyed by
  // record and form, restored into the page that comes back, and dropped once that form is saved.
  // Unsaved changes get the browser's warning when leaving the page, not when submitting a form.
  var PREFIX = "bo-draft:";
  var SUBMITTED = "bo-draft-submitted";
  var record = null;
  var submitting = false;

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  function tracked(form) {
    return record !== null && form && form.tagName === "FORM" &&
      (form.getAttribute("method") || "").toLowerCase() === "post" && fields(form).length > 0;
  }

  function key(form) {
    return PREFIX + record + ":" + form.getAttribute("action");
  }

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrfmiddlewaretoken" && el.tagName !== "BUTTON" &&
        ["hidden", "submit", "button", "reset", "file", "password"].indexOf(el.type) < 0;
    });
  }

  function snapshot(form) {
    var data = {};
    fields(form).forEach(function (el) {
      var values = data[el.name] || (data[el.name] = []);
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) { values.push(el.value); }
      } else if (el.tagName === "SELECT") {
        Array.prototype.forEach.call(el.selectedOptions, function (o) { values.push(o.value); });
      } else {
        values.push(el.value);
      }
    });
    return data;
  }

  function apply(form, data) {
    var seen = {};
    fields(form).forEach(function (el) {
      var values = data[el.name];
      if (!values) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = values.indexOf(el.value) >= 0;
      } else if (el.tagName === "SELECT") {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = values.indexOf(o.value) >= 0; });
      } else {
        var index = seen[el.name] || 0;
        if (index < values.length) { el.value = values[index]; }
        seen[el.name] = index + 1;
      }
    });
  }

  function dirty(form) {
    return form.boInitial !== undefined && JSON.stringify(snapshot(form)) !== form.boInitial;
  }

  function remember(form) {
    var store = storage();
    if (!store || form.boInitial === undefined) { return; }
    if (dirty(form)) {
      store.setItem(key(form), JSON.stringify(snapshot(form)));
    } else {
      store.removeItem(key(form));
    }
  }

  function refused(form) {
    // The form came back with an error, or the page says something went wrong (stale page).
    return form.querySelector(".is-invalid, .alert-danger, .invalid-feedback") !== null ||
      document.getElementById("alerte") !== null;
  }

  function setUp(scope) {
    var store = storage();
    var submitted = store ? store.getItem(SUBMITTED) : null;
    var forms = scope.tagName === "FORM" ? [scope] : Array.prototype.slice.call(scope.querySelectorAll("form"));
    forms.forEach(function (form) {
      if (!tracked(form) || form.boInitial !== undefined) { return; }
      form.boInitial = JSON.stringify(snapshot(form));
      if (!store) { return; }
      var saved = store.getItem(key(form));
      if (saved === null) { return; }
      if (submitted === key(form) && !refused(form)) {
        store.removeItem(key(form));  // this form was saved: its draft is what the page now shows
        store.removeItem(SUBMITTED);
        return;
      }
      try { apply(form, JSON.parse(saved)); } catch (e) { store.removeItem(key(form)); return; }
      if (dirty(form)) {
        var note = document.createElement("p");
        note.className = "small text-warning-emphasis bo-restored";
        note.setAttribute("role", "status");
        note.textContent = "Saisie non enregistrée, restaurée : enregistrez-la ou modifiez-la.";
        form.insertBefore(note, form.firstChild);
      } else {
        store.removeItem(key(form));
      }
    });
  }

  function anyDirty() {
    return Array.prototype.some.call(document.querySelectorAll("form"), function (form) {
      return tracked(form) && dirty(form);
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.form && tracked(event.target.form)) { remember(event.target.form); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.form && tracked(event.target.form)) { remember(event.target.form); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (record === null) { return; }
    // "Terminer l'étape" while the step's own form holds unsaved changes: save them with it
    // ("Enregistrer et terminer l'étape") rather than complete the step without them.
    if (form.classList.contains("bo-complete")) {
      var step = document.getElementById("etape");
      var pending = step ? Array.prototype.filter.call(step.querySelectorAll("form"), function (f) {
        return tracked(f) && dirty(f) && f.querySelector(".bo-save-complete");
      }) : [];
      if (pending.length) {
        event.preventDefault();
        pending[0].requestSubmit(pending[0].querySelector(".bo-save-complete"));
        return;
      }
    }
    var store = storage();
    if (tracked(form) && store) {
      remember(form);
      store.setItem(SUBMITTED, key(form));
    }
    // A form posted in place (htmx) does not leave the page.
    if (!form.hasAttribute("hx-post")) { submitting = true; }
  });

  window.addEventListener("beforeunload", function (event) {
    if (submitting || !anyDirty()) { return; }
    event.preventDefault();
    event.returnValue = "";  // older browsers need a value to show their own warning
  });
  window.addEventListener("pageshow", function () { submitting = false; });

  // htmx (a folded form opened, the action plan answered in place): set up what came in.
  var replyWanted = false;  // "r" opened the folded reply form: focus its box once it is here
  document.addEventListener("htmx:load", function (event) {
    setUp(event.detail.elt);
    var box = replyWanted && event.detail.elt.querySelector &&
      event.detail.elt.querySelector("form[action$='/messages/'] textarea");
    if (box) {
      replyWanted = false;
      box.focus();
    }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    // A stale page (409): show the record as it is now; the drafts come back with it.
    if (event.detail.xhr.status === 409) {
      submitting = true;
      window.location.reload();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.querySelector("[data-drafts]");
    if (holder) {
      record = holder.getAttribute("data-drafts");
      setUp(document.body);
      var store = storage();
      var submitted = store ? store.getItem(SUBMITTED) : null;
      if (submitted !== null) {
        // The form just submitted is gone from the page (its step completed, or folded again once
        // saved) and nothing went wrong: it was saved, so its draft is no longer needed.
        if (document.querySelector("#alerte, .bo-error-summary") === null) { store.removeItem(submitted); }
        store.removeItem(SUBMITTED);
      }
    }

    // After a refused or invalid submission, bring the message into view and give it focus,
    // so that keyboard and screen-reader users land on what went wrong.
    var problem = document.querySelector("#refus, .bo-error-summary, #alerte");
    if (problem) {
      if (!problem.hasAttribute("tabindex")) { problem.setAttribute("tabindex", "-1"); }
      problem.focus({ preventScroll: false });
    }

    // Choosing a starting text for a message fills the form at once (the "Préparer" button stays
    // for use without JavaScript). The chosen text replaces what was typed: ask first.
    document.querySelectorAll(".bo-template-picker select").forEach(function (select) {
      select.addEventListener("change", function () {
        var message = document.querySelector("#message form");
        if (message && tracked(message) && dirty(message)) {
          if (!window.confirm("Remplacer le message saisi par le texte du modèle ?")) { return; }
          var store = storage();
          if (store) { store.removeItem(key(message)); }
          message.boInitial = JSON.stringify(snapshot(message));
        }
        submitting = true;
        select.form.submit();
      });
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
