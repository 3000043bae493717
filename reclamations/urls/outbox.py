"""Staff views of the e-mail outbox (failed and stuck e-mails, re-send), under /backoffice/courriels/."""
from __future__ import annotations

app_name = "outbox"

urlpatterns: list = []
