"""Forms nobody has filled in yet (unbound), rendered once per process for the same content.

``{% crispy_blank form %}`` is ``{% crispy form %}`` for a public form: it renders the same for
every visitor; what differs per request (the CSRF token, the robot check's timestamp) is written
by the page, outside the fields. ``{% unbound_fields form %}...{% end_unbound_fields %}`` keeps
the HTML of a block of a back-office form's fields (the step 6 answer, prefilled from the record):
a handler's page reloads after each change, and the block is the same while the record's values
are. crispy-forms takes about 0.4 ms per field on a fast machine, most of a form's page.

The HTML is kept by *shape*: the form's class, its initial values (the record's, for a model
form) and each field's label, help text, choices, initial value and widget. A new service, a
changed value, setting or release (new processes) is a new shape, never a stale form. A bound
form (errors to show, values to keep), or one with a computed initial value, is rendered each
time.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from crispy_forms.utils import render_crispy_form
from django import forms, template
from django.utils.safestring import SafeString

register = template.Library()

# The public forms (a shape per service list) and the answer blocks of the records being worked
# on; the oldest is dropped beyond this, so a process never grows with the number of records.
MAX_SHAPES = 64
_rendered: OrderedDict[str, SafeString] = OrderedDict()
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


def _remember(key: str, html: SafeString) -> None:
    with _lock:
        _rendered[key] = html
        while len(_rendered) > MAX_SHAPES:
            _rendered.popitem(last=False)


def _cacheable(form: Any) -> bool:
    if not isinstance(form, forms.BaseForm) or form.is_bound:
        return False
    return not any(callable(value) for value in [*form.initial.values(),
                                                  *(field.initial for field in form.fields.values())])


def render_blank(form: forms.BaseForm) -> SafeString:
    """The fields of ``form`` as crispy renders them (its helper must not write the CSRF token)."""
    if not _cacheable(form):
        return render_crispy_form(form)
    key = form_shape(form)
    html = _rendered.get(key)
    if html is None:
        html = render_crispy_form(form)
        _remember(key, html)
    return html


@register.simple_tag
def crispy_blank(form: forms.BaseForm) -> SafeString:
    return render_blank(form)


class UnboundFieldsNode(template.Node):
    """The block's HTML, kept per block and per form shape; the block must show only ``form``."""

    def __init__(self, form: template.base.FilterExpression, nodelist: template.NodeList, where: str) -> None:
        self.form, self.nodelist, self.where = form, nodelist, where

    def render(self, context: template.Context) -> str:
        form = self.form.resolve(context)
        if not _cacheable(form):
            return self.nodelist.render(context)
        key = f"{self.where}:{form_shape(form)}"
        html = _rendered.get(key)
        if html is None:
            html = self.nodelist.render(context)  # a SafeString: the block's own output, escaped by it
            _remember(key, html)
        return html


@register.tag
def unbound_fields(parser: template.base.Parser, token: template.base.Token) -> UnboundFieldsNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("usage: {% unbound_fields form %}...{% end_unbound_fields %}")
    nodelist = parser.parse(("end_unbound_fields",))
    parser.delete_first_token()
    origin = getattr(parser, "origin", None)
    where = f"{getattr(origin, 'template_name', '')}@{token.position}"
    return UnboundFieldsNode(parser.compile_filter(bits[1]), nodelist, where)
