"""How long a staff session lasts: ``SESSION_COOKIE_AGE`` seconds after signing in at most, and
``SESSION_IDLE_TIMEOUT`` seconds without a request (0: no idle limit).

The sign-in views stamp the session (``start``); ``reclamations.middleware.StaffSessionMiddleware``
asks ``expiry_message`` on each request and ``touch``-es the session otherwise. The last-request
time is written at most once a minute, so an active session costs one session write a minute, not
one per page. A session without a stamp (opened before this existed, or by a test's
``force_login``) is left to Django's own expiry, ``SESSION_COOKIE_AGE`` after its last save.
"""
from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest

STARTED = "staff_session_started"
SEEN = "staff_session_seen"
TOUCH_EVERY_SECONDS = 60

EXPIRED = "Votre session a expiré : par sécurité, une session dure au plus {duration}. Reconnectez-vous pour continuer."
IDLE = "Votre session a expiré après {duration} sans activité. Reconnectez-vous pour continuer."


def duration_text(seconds: int) -> str:
    """``28800`` → "8 heures", ``5400`` → "1 h 30", ``900`` → "15 minutes"."""
    hours, minutes = divmod(int(seconds) // 60, 60)
    if hours and minutes:
        return f"{hours} h {minutes:02d}"
    if hours:
        return f"{hours} heure{'s' if hours > 1 else ''}"
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def start(request: HttpRequest) -> None:
    """Call right after signing someone in."""
    now = int(time.time())
    request.session[STARTED] = now
    request.session[SEEN] = now


def expiry_message(request: HttpRequest) -> str | None:
    """Why this signed-in session is over (the French message), or None while it is valid."""
    session = request.session
    if SESSION_KEY not in session or STARTED not in session:
        return None
    now = int(time.time())
    if now - int(session[STARTED]) >= settings.SESSION_COOKIE_AGE:
        return EXPIRED.format(duration=duration_text(settings.SESSION_COOKIE_AGE))
    idle = settings.SESSION_IDLE_TIMEOUT
    if idle and now - int(session.get(SEEN, session[STARTED])) >= idle:
        return IDLE.format(duration=duration_text(idle))
    return None


def touch(request: HttpRequest) -> None:
    """Remember this request as the session's last activity (at most once a minute)."""
    session = request.session
    if SESSION_KEY not in session or STARTED not in session:
        return
    now = int(time.time())
    if now - int(session.get(SEEN, 0)) >= TOUCH_EVERY_SECONDS:
        session[SEEN] = now
