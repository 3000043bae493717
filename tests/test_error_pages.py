"""Unknown URLs get a French page, not a stack trace."""
from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_an_unknown_url_gets_the_french_404_page(client):
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()
