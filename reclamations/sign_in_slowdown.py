"""Sign-in slowdown per account, whatever the address (the lockout itself is per account and address).

django-axes locks an account only for the address that failed, so that nobody can lock the real
person out by failing on purpose. An attacker spread over many addresses would then get five
guesses per address: once an account has ``SIGN_IN_SLOWDOWN_AFTER`` failures within the cool-off
period, each new try must wait after the last failure (1 s, 2 s, 4 s… up to
``SIGN_IN_SLOWDOWN_MAX_SECONDS``). The real person waits a few seconds at worst, never a wall.
"""
from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

MESSAGE = (
    "Trop de tentatives de connexion à ce compte : patientez {seconds} s avant de réessayer."
)


def wait_seconds(username: str) -> int:
    """How long a sign-in to ``username`` must still wait (0: it may go ahead)."""
    if not username:
        return 0
    now = timezone.now()
    recent = AccessAttempt.objects.filter(
        username=username, attempt_time__gte=now - settings.AXES_COOLOFF_TIME
    ).aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    failures, last = recent["failures"] or 0, recent["last"]
    if last is None or failures < settings.SIGN_IN_SLOWDOWN_AFTER:
        return 0
    delay = min(2 ** (failures - settings.SIGN_IN_SLOWDOWN_AFTER), settings.SIGN_IN_SLOWDOWN_MAX_SECONDS)
    left = delay - (now - last).total_seconds()
    return max(0, int(left + 0.999))
