"""Public URLs: the Contact form, the privacy page, the client's follow-up pages."""
from __future__ import annotations

app_name = "public"

urlpatterns: list = []
