"""Phone numbers in E.164 (``+<country><number>``), the key every table uses."""

from __future__ import annotations

import re

from reactor import UserError

_DIGITS = re.compile(r"\d+")
_SHORT_CODE = re.compile(r"^\d{5,6}$")

# What carriers and Twilio send as From when the caller withheld their number.
WITHHELD = frozenset(
    {"anonymous", "restricted", "unknown", "unavailable", "private", "blocked", "withheld"}
)
# Twilio's placeholder numbers for a withheld caller id ("ANONYMOUS" etc. on a keypad).
WITHHELD_NUMBERS = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696"})


def caller_key(raw: str, call_sid: str) -> str:
    """The key an inbound caller is known by.

    A real number is normalised to E.164. A withheld caller id becomes
    ``anonymous:<CallSid>``: one key per call, so two anonymous callers are never
    merged (double-dial guard, customer lookup, threads). A 5-6 digit short code becomes
    ``shortcode:<digits>``.
    """
    text = (raw or "").strip()
    if text.lower() in WITHHELD or not text:
        return f"anonymous:{call_sid}"
    if _SHORT_CODE.match(text.lstrip("+")):
        return f"shortcode:{text.lstrip('+')}"
    number = normalize_e164(text)
    if number in WITHHELD_NUMBERS:
        return f"anonymous:{call_sid}"
    return number


def is_dialable(phone: str) -> bool:
    """Whether we can call or text this key back (not withheld, not a short code)."""
    return phone.startswith("+")


def normalize_e164(raw: str, default_country: str = "1") -> str:
    """``"(415) 555-0100"`` -> ``"+14155550100"``; ``UserError(invalid_phone)`` if unusable.

    Accepts ``+`` numbers as given, ``00``-prefixed international numbers, 10-digit
    national numbers (the default country code is prepended) and 11-digit numbers that
    already start with the default country code. Twilio client identities
    (``client:agent-1``) pass through unchanged.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise UserError({"code": "invalid_phone", "phone": raw})
    text = raw.strip()
    if text.startswith("client:"):
        return text
    digits = "".join(_DIGITS.findall(text))
    if text.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif len(digits) == 10 and default_country == "1":
        number = default_country + digits
    elif len(digits) == 11 and digits.startswith(default_country):
        number = digits
    else:
        number = default_country + digits
    if not 8 <= len(number) <= 15 or number.startswith("0"):
        raise UserError({"code": "invalid_phone", "phone": raw})
    return "+" + number
