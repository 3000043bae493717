"""The client's secret follow-up token: 256 random bits, only its SHA-256 is stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> tuple[str, str]:
    """Return ``(token, token_hash)``: the token goes to the client once, the hash to the database."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(token: str, token_hash: str) -> bool:
    """Constant-time comparison, so the response time says nothing about the stored hash."""
    return hmac.compare_digest(hash_token(token), token_hash)
