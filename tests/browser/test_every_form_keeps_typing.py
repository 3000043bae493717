"""Issue 17, generically: on a record's page at each of the nine steps, every field of every form
is typed into (the folded ones opened first), then each form is submitted in turn (its primary
button), and nothing typed is lost: every other form still holds what was typed, after a full
reload as after an htmx swap; the submitted form was either saved (its text is on the page or in
the database) or refused (what was typed is shown back).

The forms and fields come from the DOM, not from a list: a form added to a step is covered without
touching this file. Each submission starts from a fresh record at the same step, so that a form
that moves the record on (a step completed, the record classed) does not hide the others; the
forms that leave the page with the step are then said to be gone, and only then.

``pytest -s`` prints the coverage, one line per step: ``step N: K forms, M fields``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

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
# person can type into or choose in; returns them. A form's key is its action with the numbers
# taken out (record and action ids differ from one record to the next), numbered when several
# forms share it (one edit form per action); a field's key is its name (with the value for a
# checkbox of a group, with its rank when a name repeats).
DISCOVER = """() => {
  const seen = {};
  const skipped = ["hidden", "submit", "button", "reset", "image", "file", "password"];
  const forms = [...document.querySelectorAll("main form")].filter(
    (form) => (form.getAttribute("method") || "").toLowerCase() === "post" && form.checkVisibility());
  return forms.map((form) => {
    const path = new URL(form.getAttribute("action") || location.href, location.href).pathname;
    const base = path.replace(/[0-9]+/g, "#");
    seen[base] = (seen[base] || 0) + 1;
    const key = seen[base] > 1 ? base + " (" + seen[base] + ")" : base;
    form.setAttribute("data-t-form", key);
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
      const options = el.tagName === "SELECT" ? [...el.options].filter((o) => !o.disabled).map((o) => o.value) : [];
      fields.push({key: name, tag: el.tagName, type: el.type, min: el.getAttribute("min"),
                   max: el.getAttribute("max"), maxlength: el.maxLength, options: options});
    }
    return {key: key, fields: fields};
  });
}"""

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
    how: str  # "saved", "refused" or "gone"
    kept: int = 0  # other forms checked, all still holding what was typed
    gone: list[str] = field(default_factory=list)  # other forms that left the page with the step


@pytest.fixture
def handler(transactional_db):
    return UserFactory(role="handler", username="gestionnaire", first_name="Camille", last_name="Martin")


def record_at(step: Step, handler) -> Reclamation:
    return advance(ReclamationFactory(), step, handler)


def open_record(page, live_server, record: Reclamation) -> list[dict[str, Any]]:
    page.goto(live_server.url + reverse("backoffice:detail", args=[record.pk]))
    return unfold(page)


def unfold(page) -> list[dict[str, Any]]:
    """Open every folded form (and the folds they bring), then mark and list the forms."""
    for _ in range(4):
        if not page.evaluate(UNFOLD):
            break
        try:
            page.wait_for_function(UNFOLDED)
        except PlaywrightTimeout:
            folded = page.evaluate("() => [...document.querySelectorAll(\"main [hx-trigger^='toggle']\")].map(e => e.id)")
            raise AssertionError(f"{page.url}: these folded forms do not open: {folded}") from None
    return page.evaluate(DISCOVER)


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
    if kind in ("date", "datetime-local"):
        today = timezone.localdate()
        if kind == "date":
            day = today + timedelta(days=n % 20 + 1)
            if spec["max"] and day.isoformat() > spec["max"]:
                day = today - timedelta(days=n % 20 + 1)
            value = day.isoformat()
        else:  # a moment of the past (an exchange, a sending): the most likely to be accepted
            moment = timezone.localtime() - timedelta(hours=n % 48 + 1)
            value = moment.strftime("%Y-%m-%dT%H:%M")
        return value if value != current else value.replace(value[:4], str(int(value[:4]) - 1), 1)
    raise AssertionError(f"no value for a field of type {kind}")


def fill_everything(page, forms: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Type into every field of every form, as a person would; returns what the fields hold then."""
    before = page.evaluate(READ)
    for form in forms:
        scope = page.locator(f"main form[data-t-form='{form['key']}']")
        for spec in form["fields"]:
            current = before[form["key"]][spec["key"]]
            target = scope.locator(f"[data-t-field='{spec['key']}']")
            if spec["type"] == "checkbox":
                target.set_checked(not current)
            elif spec["type"] == "radio":
                name = spec["key"]
                other = scope.locator(f"input[type=radio][name='{name}']:not(:checked)").first
                other.check()
            elif spec["tag"] == "SELECT":
                choices = [value for value in spec["options"] if value and value != current]
                if choices:
                    target.select_option(value=choices[0])
            else:
                target.fill(typed_value(spec, current))
    typed = page.evaluate(READ)
    unchanged = [(form, name) for form, values in typed.items() for name, value in values.items()
                 if value == before[form][name] and not (isinstance(value, str) and value == "")]
    assert len(unchanged) <= sum(len(values) for values in typed.values()) // 2, unchanged
    return typed


def primary_button(page, key: str):
    """The button a person would press: the primary one when there are several."""
    buttons = page.locator(f"main form[data-t-form='{key}'] button:not([type=button]):not([type=reset]), "
                           f"main form[data-t-form='{key}'] input[type=submit]")
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


def submit_one(page, live_server, step: Step, handler, target: dict[str, Any],
               dialogs: list[str]) -> Outcome:
    record = record_at(step, handler)
    forms = {form["key"]: form for form in open_record(page, live_server, record)}
    assert target["key"] in forms, f"{target['key']} not on the page of a second record at {step}"
    typed = fill_everything(page, list(forms.values()))

    dialogs.clear()
    page.evaluate(ARMED)
    with page.expect_response(lambda response: response.request.method == "POST"):
        primary_button(page, target["key"]).click()
    page.wait_for_function(ANSWERED)
    page.wait_for_load_state("load")
    now_forms = {form["key"]: form for form in unfold(page)}
    now = page.evaluate(READ)
    moved = Reclamation.objects.get(pk=record.pk).state != record.state
    outcome = Outcome(target["key"], "saved")

    lost: list[str] = []
    for key, values in typed.items():
        if key == target["key"] or not values:
            continue
        if key not in now_forms:
            if moved:
                outcome.gone.append(key)
            else:
                lost.append(f"{key}: the form is no longer on the page")
            continue
        changed = {name: (value, now[key].get(name)) for name, value in values.items() if now[key].get(name) != value}
        if changed:
            lost.append(f"{key}: {changed}")
        else:
            outcome.kept += 1
    assert not lost, f"step {step}, after submitting {target['key']}, typing lost in: " + "; ".join(lost)

    mine = typed[target["key"]]
    if target["key"] in now_forms and page.evaluate(REFUSED, target["key"]):
        outcome.how = "refused"
        changed = {name: (value, now[target["key"]].get(name)) for name, value in mine.items()
                   if now[target["key"]].get(name) != value}
        assert not changed, f"step {step}: {target['key']} refused without showing back what was typed: {changed}"
    elif mine:
        outcome.how = "saved" if target["key"] in now_forms else "saved, form gone"
        page_text = page.locator("main").text_content() + str(now.get(target["key"], {}))
        stored = stored_text()
        missing = [m for m in markers(mine, target) if m not in page_text and m not in stored]
        assert not missing, f"step {step}: {target['key']} answered without error, but {missing} was not saved"
    assert dialogs == [], f"step {step}: submitting {target['key']} raised {dialogs}"
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
    fields = sum(len(form["fields"]) for form in forms)
    assert forms, f"step {number}: no form found"
    with capsys.disabled():
        print(f"\nstep {number}: {len(forms)} forms, {fields} fields")
    outcomes = [submit_one(page, live_server, step, handler, form, dialogs) for form in forms]

    with capsys.disabled():
        for form, outcome in zip(forms, outcomes, strict=True):
            gone = f", gone with the step: {len(outcome.gone)}" if outcome.gone else ""
            print(f"  {form['key']} ({len(form['fields'])} fields): {outcome.how}; "
                  f"{outcome.kept} other forms kept{gone}")
