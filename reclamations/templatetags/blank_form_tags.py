"""``{% crispy_blank form %}``: ``{% crispy form %}``, rendered once per process for a blank form.

A public form nobody has filled in yet renders the same for every visitor: what differs per
request (the CSRF token, the robot check's timestamp) is written by the page, outside the fields.
crispy-forms takes most of the Contact page's time (about 0.4 ms per field, 15 fields), so the
fields' HTML is kept by *shape*: the form's class and each field's label, help text, choices,
initial value and widget. A new service, a changed setting or a new release (new processes) is a
new shape, never a stale form. A bound form (errors to show, values to keep) is rendered each time.
"""
from __future__ import annotations

import hashlib
import threading

from crispy_forms.utils import render_crispy_form
from django import forms, template
from django.utils.safestring import SafeString

register = template.Library()

# A handful of shapes at most (one per form and service list); the bound keeps a misbehaving
# caller from growing the process.
MAX_SHAPES = 32
_rendered: dict[str, SafeString] = {}
_lock = threading.Lock()


def form_shape(form: forms.BaseForm) -> str:
    """A digest of everything a blank form's HTML depends on."""
    parts = [type(form).__module__, type(form).__qualname__, form.prefix or "", repr(sorted(form.initial.items()))]
    for name, field in form.fields.items():
        widget = field.widget
        parts.append(repr((
            name, str(field.label), str(field.help_text), field.required, field.disabled, field.initial,
            type(widget).__name__, sorted(widget.attrs.items()),
            [(value, str(label)) for value, label in getattr(field, "choices", ())],
        )))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def render_blank(form: forms.BaseForm) -> SafeString:
    """The fields of ``form`` as crispy renders them (its helper must not write the CSRF token)."""
    if form.is_bound:
        return render_crispy_form(form)
    key = form_shape(form)
    html = _rendered.get(key)
    if html is None:
        html = render_crispy_form(form)
        with _lock:
            if len(_rendered) >= MAX_SHAPES:
                _rendered.clear()
            _rendered[key] = html
    return html


@register.simple_tag
def crispy_blank(form: forms.BaseForm) -> SafeString:
    return render_blank(form)
