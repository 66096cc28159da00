"""Phone numbers in E.164 (``+<country><number>``), the key every table uses."""

from __future__ import annotations

import re

from reactor import UserError

_DIGITS = re.compile(r"\d+")


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
