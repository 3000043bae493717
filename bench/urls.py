"""The project's URLs plus ``/bench/plancher/``: a bare view answering "ok", the floor every figure
of ``bench/run.py`` is divided by (same server, same middleware, no database, no template)."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from bench.dataset import FLOOR_PATH
from config.urls import urlpatterns as project_urlpatterns


def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


urlpatterns = [path(FLOOR_PATH.strip("/") + "/", floor, name="bench_floor"), *project_urlpatterns]
