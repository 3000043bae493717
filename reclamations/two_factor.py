"""Two-factor authentication of staff (django-otp): what the views and the middleware ask about it.

A staff member has two-factor authentication when they have a confirmed TOTP device (an
authenticator app on their phone). Their backup codes are one static device holding single-use
codes of ``BACKUP_CODE_DIGITS`` digits, so that the same numeric keypad serves both kinds of code.
Changes (enrolment, new backup codes, removal, checking a code) are in ``services/two_factor.py``.
"""
from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import quote, urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from . import roles
from .models import Organisation

TOTP_DIGITS = 6
TOTP_STEP = 30
BACKUP_CODE_DIGITS = 10
BACKUP_CODE_COUNT = 10
# Below this many unused backup codes, the staff member is told to make new ones.
BACKUP_CODES_LOW = 3

TOTP_DEVICE_NAME = "Application d'authentification"
BACKUP_DEVICE_NAME = "Codes de secours"


def totp_device(user: Any) -> TOTPDevice | None:
    """The confirmed authenticator app of ``user``, if they set one up."""
    if not getattr(user, "is_authenticated", False):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_two_factor(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and TOTPDevice.objects.filter(
        user=user, confirmed=True
    ).exists()


def backup_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def is_required_for(user: Any) -> bool:
    """Whether ``user`` must have two-factor authentication (quality leads, when the setting says so)."""
    return bool(settings.OTP_REQUIRED_FOR_QUALITY_LEADS) and roles.is_quality_lead(user)


# --- Enrolment ------------------------------------------------------------------------------------
def new_secret() -> str:
    """A new TOTP secret: 20 random bytes, hex-encoded as django-otp stores them."""
    return random_hex(20)


def secret_base32(hex_key: str) -> str:
    """The secret as authenticator apps take it when typed in: base32, no padding."""
    return base64.b32encode(bytes.fromhex(hex_key)).decode().rstrip("=")


def secret_for_typing(hex_key: str) -> str:
    """The base32 secret in groups of four letters, easier to copy by hand."""
    text = secret_base32(hex_key)
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def issuer() -> str:
    """The name the authenticator app shows above the account: the organisation's."""
    # A colon separates issuer and account in the URI label: none may appear in the issuer.
    return Organisation.current().name.replace(":", " ").strip() or "Réclamations"


def provisioning_uri(user: Any, hex_key: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from the QR code (Key URI format)."""
    name = issuer()
    label = quote(f"{name}:{user.get_username()}")
    query = urlencode(
        {"secret": secret_base32(hex_key), "issuer": name, "algorithm": "SHA1", "digits": TOTP_DIGITS,
         "period": TOTP_STEP},
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def qr_svg(uri: str, *, label: str) -> SafeString:
    """The QR code of ``uri`` as inline SVG (drawn on the server: no script, no external image).

    The SVG is made by the qrcode package from our own URI, which it encodes as geometry only: no
    text of ours appears in it but ``label``, which is escaped here.
    """
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10, border=4)
    svg = image.to_string(encoding="unicode")
    if not svg.startswith("<svg "):
        raise ValueError("unexpected output of the qrcode package")
    markup = f'<svg role="img" aria-label="{escape(label)}" class="otp-qr" ' + svg[len("<svg "):]
    return mark_safe(markup)  # noqa: S308 - the qrcode package's geometry and our escaped label only


# --- Codes ----------------------------------------------------------------------------------------
def normalise_code(raw: str) -> str:
    """What the person typed, without the spaces and dashes they may have copied with it."""
    return "".join(ch for ch in (raw or "") if ch not in " -\u00a0\u202f\t")


def is_backup_code(code: str) -> bool:
    return len(code) == BACKUP_CODE_DIGITS


def new_backup_codes() -> list[str]:
    """``BACKUP_CODE_COUNT`` distinct random codes of ``BACKUP_CODE_DIGITS`` digits."""
    codes: set[str] = set()
    while len(codes) < BACKUP_CODE_COUNT:
        codes.add(f"{secrets.randbelow(10 ** BACKUP_CODE_DIGITS):0{BACKUP_CODE_DIGITS}d}")
    return sorted(codes)


def format_backup_code(code: str) -> str:
    """``1234567890`` → ``12345 67890``: easier to read and to copy."""
    half = len(code) // 2
    return f"{code[:half]} {code[half:]}"
