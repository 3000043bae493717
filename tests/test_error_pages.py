"""Unknown URLs get a French page, not a stack trace."""
from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_an_unknown_url_gets_the_french_404_page(client):
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


@pytest.mark.parametrize(("rate", "seconds"), [("5/10m", 600), ("20/h", 3600), ("3/2d", 172800), ("7/30", 30),
                                               ("1/s", 1)])
def test_the_wait_is_the_rate_window(rate, seconds):
    from reclamations.views.public_errors import rate_window_seconds

    assert rate_window_seconds(rate) == seconds
