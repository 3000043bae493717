"""The client's satisfaction survey, public: ``/enquete/<token>/``."""
from __future__ import annotations

from django.urls import path

from ..views import survey

app_name = "survey"

urlpatterns = [
    path("<str:token>/", survey.answer, name="answer"),
]
