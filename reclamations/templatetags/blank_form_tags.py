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
import itertools
import threading
from collections import OrderedDict
from typing import Any

from crispy_forms.utils import render_crispy_form
from django import forms, template
from django.utils.safestring import SafeString

register = template.Library()

class _Memo:
    """A small least-recently-used store of rendered HTML, shared by a process's threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, SafeString] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> SafeString | None:
        with self._lock:
            html = self._items.get(key)
            if html is not None:
                self._items.move_to_end(key)
            return html

    def put(self, key: Any, html: SafeString) -> None:
        with self._lock:
            self._items[key] = html
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


# The public forms: a shape per form and service list, a handful at most.
_blank = _Memo(32)
# The answer blocks of the records being worked on, apart, so that they never push the public
# form out; the least recently shown is dropped, so a process never grows with the records. An
# erased record's block can no longer be asked for (its content, hence its key, changed) and
# leaves as others come in.
_blocks = _Memo(64)
_block_numbers = itertools.count()


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
    html = _blank.get(key)
    if html is None:
        html = render_crispy_form(form)
        _blank.put(key, html)
    return html


@register.simple_tag
def crispy_blank(form: forms.BaseForm) -> SafeString:
    return render_blank(form)


class UnboundFieldsNode(template.Node):
    """The block's HTML, kept per block and per form shape; the block must show only ``form``."""

    def __init__(self, form: template.base.FilterExpression, nodelist: template.NodeList) -> None:
        self.form, self.nodelist = form, nodelist
        # Each parsed block is its own: two blocks of one template, or a template edited and
        # parsed again, never share an entry.
        self.number = next(_block_numbers)

    def render(self, context: template.Context) -> str:
        form = self.form.resolve(context)
        if not _cacheable(form):
            return self.nodelist.render(context)
        key = (self.number, form_shape(form))
        html = _blocks.get(key)
        if html is None:
            html = self.nodelist.render(context)  # a SafeString: the block's own output, escaped by it
            _blocks.put(key, html)
        return html


@register.tag
def unbound_fields(parser: template.base.Parser, token: template.base.Token) -> UnboundFieldsNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("usage: {% unbound_fields form %}...{% end_unbound_fields %}")
    nodelist = parser.parse(("end_unbound_fields",))
    parser.delete_first_token()
    return UnboundFieldsNode(parser.compile_filter(bits[1]), nodelist)
