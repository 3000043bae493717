"""Public URLs: the Contact form, the privacy page, the client's follow-up pages."""
from __future__ import annotations

from django.urls import path

from ..views import public, public_follow_up

app_name = "public"

urlpatterns = [
    path("", public.home, name="home"),
    path("contact/", public.contact, name="contact"),
    path("contact/merci/", public.contact_done, name="contact_done"),
    path("confidentialite/", public.privacy, name="privacy"),
    # Before <token>/: "lien-perdu" is never a token (tokens are 43 characters).
    path("suivi/lien-perdu/", public_follow_up.lost_link, name="lost_link"),
    path("suivi/<str:token>/", public_follow_up.follow_up, name="follow_up"),
    path("suivi/<str:token>/pieces/<int:pk>/", public_follow_up.follow_up_attachment, name="follow_up_attachment"),
]
