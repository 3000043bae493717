"""The client's follow-up page (``/suivi/<token>/``), its downloads, and the lost-link page.

A token that is unknown, wrong or expired raises Http404: the client gets the very page any
unknown URL gets, which tells nothing about which tokens exist.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.decorators import ratelimit

from .. import selectors, services, uploads, workflow
from ..forms.public import FollowUpMessageForm, LostLinkForm
from ..models import Attachment, Reclamation
from .public_common import private_page, rate

# A token is 43 URL-safe characters; anything much longer is not worth hashing.
_MAX_TOKEN_LENGTH = 128


def reclamation_for_token(token: str) -> Reclamation:
    """The record whose follow-up link this is, or Http404 (unknown, wrong or expired)."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise Http404
    reclamation = selectors.reclamation_for_follow_up_token(token)
    if reclamation is None:
        raise Http404
    return reclamation


def _page_context(reclamation: Reclamation, token: str, form: FollowUpMessageForm | None) -> dict[str, object]:
    reads = selectors.follow_up_reads(reclamation)
    return {
        "reclamation": reclamation,
        "token": token,
        "steps": workflow.progress(reclamation.state),
        "state_label": workflow.client_label(reclamation.state),
        "is_open": reclamation.is_open,
        "discarded": reclamation.state == workflow.Step.DISCARDED,
        "events": reads.events,
        "communications": reads.communications,
        "form_files": reads.form_files,
        "form": form,
    }


@require_http_methods(["GET", "POST"])
@ratelimit(group="public:follow_up", key="ip", rate=rate("FOLLOW_UP_RATE_LIMIT"), method="POST")
@private_page(referrer_policy="same-origin")
def follow_up(request: HttpRequest, token: str) -> HttpResponse:
    reclamation = reclamation_for_token(token)
    form = None
    if reclamation.is_open:
        form = FollowUpMessageForm()
        if request.method == "POST":
            form = FollowUpMessageForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    services.reclamation_add_client_message(
                        reclamation=reclamation,
                        body=form.cleaned_data["body"],
                        uploads=form.cleaned_data["attachments"],
                    )
                except services.WorkflowError as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(request, "Votre message a bien été transmis au responsable du traitement.")
                    return redirect("public:follow_up", token=token)
    context = _page_context(reclamation, token, form)
    if form is None and request.method == "POST":
        # Closed while the client was writing: nothing is added to the record, but what they typed
        # is shown back to be copied into the contact form, never thrown away.
        context["unsent_text"] = str(request.POST.get("body", ""))[:20000]
    context["files_lost"] = bool(request.FILES) and form is not None and form.is_bound
    response = render(request, "public/follow_up.html", context)
    if form is None:  # no form to post (closed record): the stricter policy of other token pages
        response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
@private_page()
def follow_up_attachment(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    """The client downloads a public file of their own record, and nothing else."""
    reclamation = reclamation_for_token(token)
    attachment = get_object_or_404(Attachment, pk=pk, reclamation=reclamation, public=True)
    if not attachment.file.storage.exists(attachment.file.name):
        raise Http404
    return uploads.download_response(attachment)


@require_http_methods(["GET", "POST"])
@ratelimit(group="public:lost_link", key="ip", rate=rate("LOST_LINK_RATE_LIMIT"), method="POST")
@private_page(referrer_policy="same-origin")
def lost_link(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "public/lost_link.html", {"form": LostLinkForm()})
    form = LostLinkForm(request.POST)
    if not form.is_valid():
        return render(request, "public/lost_link.html", {"form": form})
    # Stored for the worker: the same work and the same answer whether or not anything matches.
    services.reclamation_request_lost_link(email=form.cleaned_data["email"], reference=form.cleaned_data["reference"])
    return render(request, "public/lost_link_sent.html")
