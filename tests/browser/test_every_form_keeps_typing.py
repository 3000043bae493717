"""Issue 17, generically: on a record's page at each of the nine steps, every field of every form
is typed into (the folded ones opened first), then each form is submitted in turn (its primary
button), and nothing typed is lost: every other form still holds what was typed, after a full
reload as after an htmx swap; the submitted form was either saved (its text is on the page or in
the database) or refused (what was typed is shown back).

The forms and fields come from the DOM, not from a list: a form added to a step is covered without
touching this file. Each submission starts from a fresh record at the same step (one browser
context per step), so that a form that moves the record on (a step completed, the record closed,
classed or handed over) does not hide the others; the forms that leave the page with such a change
are said to be gone, and a form may be gone only then.

What it found, fixed in the product: a refused form answers at its POST-only address, and the
folded forms of that page asked htmx for that address (405), so they never opened again with what
was typed in them; at step 7 with the client already informed, two message forms shared one draft;
a hand-over note to the person already in charge was dropped without a word.

The coverage is printed, even without ``-s``: ``step N: K forms, M fields``, then each form with
what its submission did (saved, refused, submitted) and how many other forms kept their text."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.core import serializers
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from reclamations.models import Reclamation
from reclamations.workflow import Step
from tests.browser.conftest import sign_in
from tests.factories import ReclamationFactory, UserFactory, advance

STEPS = [Step.RECEIVED, Step.IDENTIFICATION, Step.REFORMULATION, Step.ACTION_PROPOSAL, Step.SCHEDULING,
         Step.ACTION, Step.FOLLOW_UP, Step.CONCLUSION, Step.FEEDBACK]

# Marks, in the page, every visible form of the main content that posts, and every field of it a
# person can type into or choose in; returns them. A form's key is its action (the record's id taken
# out) and its button's words, numbered if still not unique; its label, the same with every number
# taken out (action ids differ from one record to the next), names it across records. A field's key
# is its name (with the value for a checkbox of a group, with its rank when a name repeats).
DISCOVER = """(record) => {
  const skipped = ["hidden", "submit", "button", "reset", "image", "file", "password"];
  const keys = {};
  const labels = {};
  const forms = [...document.querySelectorAll("main form")].filter(
    (form) => (form.getAttribute("method") || "").toLowerCase() === "post" && form.checkVisibility());
  return forms.map((form, index) => {
    const path = new URL(form.getAttribute("action") || location.href, location.href).pathname;
    const button = form.querySelector("button:not([type=button]), input[type=submit]");
    const words = button ? (button.textContent || button.value).trim().replace(/\\s+/g, " ") : "";
    let key = path.replace("/" + record + "/", "/#/") + " «" + words + "»";
    keys[key] = (keys[key] || 0) + 1;
    if (keys[key] > 1) { key += " (" + keys[key] + ")"; }
    let label = key.replace(/[0-9]+/g, "#");
    labels[label] = (labels[label] || 0) + 1;
    if (labels[label] > 1) { label += " (" + labels[label] + ")"; }
    form.setAttribute("data-t-form", key);
    form.setAttribute("data-t-index", index);
    const ranks = {};
    const fields = [];
    for (const el of form.elements) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.disabled || el.readOnly) { continue; }
      if (!["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) || skipped.includes(el.type)) { continue; }
      if (!el.checkVisibility() && !(el.type === "checkbox" || el.type === "radio")) { continue; }
      let name = el.name;
      if (el.type === "radio") {
        if (fields.some((f) => f.key === name)) { continue; }
      } else if (el.type === "checkbox") {
        name = el.name + "=" + el.value;
      } else {
        ranks[name] = (ranks[name] || 0) + 1;
        if (ranks[name] > 1) { name = name + " #" + ranks[name]; }
      }
      el.setAttribute("data-t-field", name);
      const options = el.tagName === "SELECT" ? [...el.options].filter((o) => !o.disabled).map((o) => o.value)
        : el.type === "radio" ? [...form.elements].filter((r) => r.type === "radio" && r.name === el.name)
          .map((r) => r.value) : [];
      fields.push({key: name, tag: el.tagName, type: el.type, min: el.getAttribute("min"),
                   max: el.getAttribute("max"), options: options});
    }
    return {key: key, label: label, index: index, fields: fields};
  });
}"""

# The folded forms of the page, by the name that asks the server for them (?formulaire=<name>).
FOLDED = """() => [...document.querySelectorAll("main [id^='formulaire-'][hx-get]")].map(
  (el) => el.id.slice("formulaire-".length))"""

# What each marked field holds now: text, the chosen option(s), whether it is ticked.
READ = """() => {
  const out = {};
  for (const form of document.querySelectorAll("main form[data-t-form]")) {
    const values = {};
    for (const el of form.querySelectorAll("[data-t-field]")) {
      const key = el.getAttribute("data-t-field");
      if (el.type === "radio") {
        const ticked = form.querySelector("input[type=radio][name='" + CSS.escape(el.name) + "']:checked");
        values[key] = ticked ? ticked.value : null;
      } else if (el.type === "checkbox") {
        values[key] = el.checked;
      } else if (el.tagName === "SELECT" && el.multiple) {
        values[key] = [...el.selectedOptions].map((o) => o.value).join(",");
      } else {
        values[key] = el.value;
      }
    }
    out[form.getAttribute("data-t-form")] = values;
  }
  return out;
}"""

# Types into the fields (index of the form, key of the field, kind, value), firing the events a
# person's typing or choosing fires.
TYPE = """(changes) => {
  for (const [index, key, kind, value] of changes) {
    const form = document.querySelector("main form[data-t-index='" + index + "']");
    let el = [...form.querySelectorAll("[data-t-field]")].find((e) => e.getAttribute("data-t-field") === key);
    if (kind === "radio") {
      el = [...form.querySelectorAll("input[type=radio]")].find((r) => r.name === el.name && r.value === value);
      el.checked = true;
    } else if (kind === "checkbox") {
      el.checked = value;
    } else if (kind === "select-multiple") {
      [...el.options].forEach((o) => { o.selected = o.value === value; });
    } else {
      el.value = value;
    }
    el.dispatchEvent(new Event("input", {bubbles: true}));
    el.dispatchEvent(new Event("change", {bubbles: true}));
  }
}"""

# Opens every folded part of the main content; a folded form is then fetched (htmx, on "toggle").
UNFOLD = """() => {
  const closed = [...document.querySelectorAll("main details:not([open])")];
  closed.forEach((details) => { details.open = true; });
  return closed.length;
}"""
UNFOLDED = """() => !document.querySelector("main [hx-trigger^='toggle']") &&
  !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling")"""

# How a form says it was not saved: a field in error, its error summary, a refusal or a stale page.
REFUSED = """(key) => {
  const form = document.querySelector("main form[data-t-form='" + CSS.escape(key) + "']");
  const own = form && form.querySelector(".is-invalid, .invalid-feedback, .alert-danger, .bo-error-summary");
  return Boolean(own || document.querySelector("#alerte"));
}"""

# The submission is over when the page was replaced (full reload) or htmx has settled its swap.
ARMED = """() => {
  window.__tWaiting = true;
  document.addEventListener("htmx:afterSettle", () => { window.__tSettled = true; });
}"""
ANSWERED = """() => !window.__tWaiting || (window.__tSettled === true &&
  !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling"))"""

TEXT_TYPES = {"text", "textarea", "search", "email", "url", "tel"}
counter = itertools.count(1)


@dataclass
class Outcome:
    form: str
    how: str  # "saved", "saved, form gone", "refused" or, for a form with no field, "submitted"
    kept: int = 0  # other forms checked, all still holding what was typed
    # Other forms that left the page with the record's change (step completed, record closed or
    # classed, handed over to a colleague): not this handler's to fill in any more.
    gone: list[str] = field(default_factory=list)


@pytest.fixture
def handler(transactional_db):
    # A colleague too, so that "Confier" really hands the record over.
    UserFactory(role="handler", username="collegue", first_name="Dominique", last_name="Bernard")
    return UserFactory(role="handler", username="gestionnaire", first_name="Camille", last_name="Martin")


def record_at(step: Step, handler) -> Reclamation:
    return advance(ReclamationFactory(), step, handler)


def open_record(page, live_server, record: Reclamation) -> list[dict[str, Any]]:
    """The record's page with every folded form open: asked for in the address (?formulaire=...), as
    the page's links do without JavaScript, which costs one page instead of one per fold."""
    url = live_server.url + reverse("backoffice:detail", args=[record.pk])
    page.goto(url)
    folded = page.evaluate(FOLDED)
    if folded:
        page.goto(url + "?" + urlencode([("formulaire", name) for name in folded]))
    return unfold(page)


def unfold(page) -> list[dict[str, Any]]:
    """Open every folded form as a person does (htmx fetches it), then mark and list the forms."""
    for _ in range(4):
        if not page.evaluate(UNFOLD):
            break
        try:
            page.wait_for_function(UNFOLDED)
        except PlaywrightTimeout:
            folded = page.evaluate(FOLDED)
            raise AssertionError(f"{page.url}: these folded forms do not open: {folded}") from None
    return page.evaluate(DISCOVER, page.evaluate("() => document.querySelector('[data-drafts]')?.dataset.drafts"))


def typed_value(spec: dict[str, Any], current: Any) -> Any:
    """A distinctive value a person could type or choose, different from what the field holds."""
    n = next(counter)
    kind = "textarea" if spec["tag"] == "TEXTAREA" else spec["type"]
    if kind == "email":
        return f"saisie{n}@exemple.org"
    if kind == "tel":
        return f"06 {n // 1000000 % 100:02d} {n // 10000 % 100:02d} {n // 100 % 100:02d} {n % 100:02d}"
    if kind == "url":
        return f"https://exemple.org/saisie{n}"
    if kind in TEXT_TYPES:
        return f"Saisie{n}"
    if kind == "number":
        low = int(float(spec["min"])) if spec["min"] else 1
        high = int(float(spec["max"])) if spec["max"] else low + 100
        value = low + n % max(1, high - low + 1)
        return str(value if str(value) != current else (value + 1 if value < high else low))
    if kind == "date":
        # Today: the one day both a due date (not past) and a date done (not future) accept.
        today = timezone.localdate()
        return (today if today.isoformat() != current else today - timedelta(days=1)).isoformat()
    if kind == "datetime-local":  # a moment of the past (an exchange, a sending): the most likely to be accepted
        moment = timezone.localtime() - timedelta(minutes=n % 600 + 5)
        value = moment.strftime("%Y-%m-%dT%H:%M")
        return value if value != current else (moment - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    raise AssertionError(f"no value for a field of type {kind}")


def fill_everything(page, forms: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Type into every field of every form; returns what the fields hold then. The values are set
    with the events typing and choosing fire (input, change), which is all the page listens to,
    in one call for the whole page: field by field through Playwright costs seconds per page."""
    before = page.evaluate(READ)
    changes: list[tuple[int, str, str, Any]] = []
    for form in forms:
        for spec in form["fields"]:
            current = before[form["key"]][spec["key"]]
            if spec["type"] == "checkbox":
                changes.append((form["index"], spec["key"], "checkbox", not current))
            elif spec["type"] in ("radio", "select-one", "select-multiple"):
                choices = [value for value in spec["options"] if value and value != current]
                if choices:  # a select with one choice, already made, cannot be changed
                    changes.append((form["index"], spec["key"], spec["type"], choices[0]))
            else:
                changes.append((form["index"], spec["key"], "text", typed_value(spec, current)))
    page.evaluate(TYPE, changes)
    typed = page.evaluate(READ)
    unchanged = [f"{form['key']} {name}" for form, name in ((f, c[1]) for f in forms for c in changes
                 if c[0] == f["index"]) if typed[form["key"]][name] == before[form["key"]][name]]
    assert not unchanged, f"these fields did not take what was typed: {unchanged}"
    return typed


def primary_button(page, index: int):
    """The button a person would press: the primary one when there are several."""
    form = f"main form[data-t-index='{index}']"
    buttons = page.locator(f"{form} button:not([type=button]):not([type=reset]), {form} input[type=submit]")
    primary = buttons.and_(page.locator(".btn-primary"))
    return primary.first if primary.count() else buttons.first


def stored_text() -> str:
    """Everything the application stored, to find a saved marker that the page does not show."""
    return "".join(serializers.serialize("json", model.objects.all())
                   for model in apps.get_app_config("reclamations").get_models())


def markers(values: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    kinds = {f["key"]: ("textarea" if f["tag"] == "TEXTAREA" else f["type"]) for f in spec["fields"]}
    return [value for name, value in values.items()
            if kinds.get(name) in TEXT_TYPES and isinstance(value, str) and value]


def submit_one(page, live_server, step: Step, handler, label: str, dialogs: list[str]) -> Outcome:
    """On a fresh record at ``step``: type into everything, submit the form called ``label``."""
    record = record_at(step, handler)
    forms = {form["label"]: form for form in open_record(page, live_server, record)}
    assert label in forms, f"{label} is not on the page of a second record at {step}"
    target = forms[label]
    key = target["key"]
    typed = fill_everything(page, list(forms.values()))

    dialogs.clear()
    page.evaluate(ARMED)
    with page.expect_response(lambda response: response.request.method == "POST"):
        primary_button(page, target["index"]).click()
    page.wait_for_function(ANSWERED)
    page.wait_for_load_state("load")
    present = {form["key"] for form in unfold(page)}
    now = page.evaluate(READ)
    after = Reclamation.objects.get(pk=record.pk)
    # The step completed, the record closed or classed, or handed over (no longer this handler's to
    # change): the forms of the page it was may be gone with it.
    moved = (after.state, after.handler_id) != (record.state, record.handler_id)
    outcome = Outcome(label, "saved" if target["fields"] else "submitted")

    lost: list[str] = []
    for other, values in typed.items():
        if other == key or not values:
            continue
        if other not in present:
            if moved:
                outcome.gone.append(other)
            else:
                lost.append(f"{other}: the form is no longer on the page")
            continue
        changed = {name: (value, now[other].get(name)) for name, value in values.items()
                   if now[other].get(name) != value}
        if changed:
            lost.append(f"{other}: {changed} (typed, now)")
        else:
            outcome.kept += 1
    assert not lost, f"step {step}, after submitting {key}, typing lost in: " + "; ".join(lost)

    mine = typed[key]
    if key in present and page.evaluate(REFUSED, key):
        outcome.how = "refused"
        changed = {name: (value, now[key].get(name)) for name, value in mine.items() if now[key].get(name) != value}
        assert not changed, f"step {step}: {key} refused without showing back what was typed: {changed}"
    elif mine:
        outcome.how = "saved" if key in present else "saved, form gone"
        page_text = page.locator("main").text_content() + str(now.get(key, {}))
        stored = stored_text()
        missing = [m for m in markers(mine, target) if m not in page_text and m not in stored]
        assert not missing, f"step {step}: {key} answered without error, but {missing} was not saved"
    assert dialogs == [], f"step {step}: submitting {key} raised {dialogs}"
    return outcome


@pytest.mark.parametrize("step", STEPS, ids=[str(s) for s in STEPS])
def test_nothing_typed_in_any_form_of_a_step_page_is_lost(desktop_page, live_server, handler, step, capsys):
    page = desktop_page
    dialogs: list[str] = []

    # Leaving a page that holds unsaved text warns (the next record is opened over one): accepted.
    # A warning while submitting would be a bug: submit_one looks at those.
    def answer(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    page.on("dialog", answer)
    sign_in(page, live_server.url, "gestionnaire")
    forms = open_record(page, live_server, record_at(step, handler))
    number = STEPS.index(step) + 1
    assert forms, f"step {number}: no form found"
    with capsys.disabled():
        print(f"\nstep {number}: {len(forms)} forms, {sum(len(form['fields']) for form in forms)} fields")
    for form in forms:
        outcome = submit_one(page, live_server, step, handler, form["label"], dialogs)
        with capsys.disabled():
            gone = f", {len(outcome.gone)} gone with the record's change" if outcome.gone else ""
            name = form["label"].removeprefix("/backoffice/reclamations/#/")
            print(f"  {name} ({len(form['fields'])} fields): {outcome.how}; "
                  f"{outcome.kept} other forms kept{gone}")
