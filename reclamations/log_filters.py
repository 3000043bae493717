"""A safety net that keeps personal data and client secrets out of the logs.

Our own log lines name records by id or reference only. Others do not know the rule: Django logs
the path of every 4xx/5xx answer ("Not Found: /suivi/<token>/"), runserver logs every request line,
and an exception's text may quote an address. This filter, on every handler of ``LOGGING``, rewrites
each record before it is written: the secret part of token URLs becomes ``[jeton]`` and e-mail
addresses become ``[courriel]``. Names cannot be recognised in free text: that is why no log line
of ours ever carries one (see tests/test_rgpd_logs.py).
"""
from __future__ import annotations

import logging
import re

# /suivi/<token>/ (not /suivi/lien-perdu/), /enquete/<token>/, /backoffice/qualite/bilans/lu/<token>/,
# also percent-encoded in a query string (the sign-in page's ?next=%2Fbackoffice%2F…%2Flu%2F<token>%2F).
_SLASH = r"(?:/|%2[Ff])"
_TOKEN_IN_PATH = re.compile(
    rf"({_SLASH}(?:suivi|enquete|bilans{_SLASH}lu){_SLASH})(?!lien-perdu(?:{_SLASH}|[?#&\s\"']|$))"
    rf"(?:(?!%2[Ff])[^/?#&\s\"'])+"
)
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    return _EMAIL.sub("[courriel]", _TOKEN_IN_PATH.sub(r"\1[jeton]", text))


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call is logging's problem to report, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
