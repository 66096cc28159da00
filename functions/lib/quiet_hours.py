"""Quiet hours: no outbound call or campaign text outside the recipient's local window.

47 CFR 64.1200(c)(1) forbids telephone solicitations before 8 a.m. and after 9 p.m. at
the called party's location; the window is the centre's ``quiet_start``-``quiet_end``
setting (default 08:00-21:00; some states are stricter, so it is configurable).

The recipient's time zone is, in order: the customer's ``time_zone``; the time zone of
a known North American area code; for any other +1 number the strictest assumption
(the window must be open in every US time zone); otherwise the centre's time zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reactor import QueryCtx

from . import settings

US_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)

_BY_ZONE = {
    "America/New_York": (
        "201 202 203 207 212 215 216 239 240 267 301 302 305 313 315 321 330 347 352 "
        "386 401 404 407 410 412 413 434 440 443 470 475 484 508 516 518 540 551 561 "
        "570 571 585 586 603 607 609 610 614 617 631 646 678 703 704 716 717 718 724 "
        "727 732 757 770 774 781 786 802 803 804 813 828 843 845 848 856 857 860 862 "
        "863 904 908 910 914 917 919 929 941 954 973 978 980"
    ),
    "America/Chicago": (
        "205 210 214 217 218 224 225 228 251 254 256 262 281 309 312 314 316 318 319 "
        "320 331 334 337 346 361 402 405 409 414 417 430 432 469 479 501 504 507 512 "
        "515 531 563 573 601 608 612 615 618 620 630 636 641 651 662 682 708 713 715 "
        "731 737 763 773 779 785 815 816 817 830 832 847 870 872 901 903 913 918 920 "
        "936 940 952 956 972 979"
    ),
    "America/Denver": "303 307 385 406 435 505 575 719 720 801 970",
    "America/Phoenix": "480 520 602 623 928",
    "America/Los_Angeles": (
        "206 209 213 253 279 310 323 341 360 408 415 424 425 442 503 509 510 530 541 "
        "559 562 619 626 628 650 657 661 669 702 707 714 725 747 760 775 805 818 831 "
        "858 909 916 925 949 951 971"
    ),
    "America/Anchorage": "907",
    "Pacific/Honolulu": "808",
}
AREA_ZONES: dict[str, str] = {
    code: zone for zone, codes in _BY_ZONE.items() for code in codes.split()
}


def recipient_zones(ctx: QueryCtx, phone: str, customer_id: str | None) -> list[str]:
    """The time zones the recipient may be in (all of them must be inside the window)."""
    if customer_id is not None:
        customer = ctx.db.get(customer_id)
        if customer is not None and customer.get("time_zone"):
            return [customer["time_zone"]]
    if phone.startswith("+1") and len(phone) == 12:
        zone = AREA_ZONES.get(phone[2:5])
        return [zone] if zone is not None else list(US_ZONES)
    return [settings.current(ctx)["time_zone"]]


def check(ctx: QueryCtx, phone: str, customer_id: str | None) -> dict[str, Any] | None:
    """``None`` when contacting the number is allowed now, else why not and when it is.

    ``{"local_time": "HH:MM", "time_zone", "allowed_from_ms"}``, where
    ``allowed_from_ms`` is the next moment the window is open in every candidate zone.
    """
    conf = settings.current(ctx)
    start = settings.parse_hhmm(conf["quiet_start"], "quiet_start")
    end = settings.parse_hhmm(conf["quiet_end"], "quiet_end")
    now = ctx.now
    blocked: dict[str, Any] | None = None
    opens = now
    for name in recipient_zones(ctx, phone, customer_id):
        tz = settings.zone(name)
        local = datetime.fromtimestamp(now / 1000.0, tz=tz)
        minute = local.hour * 60 + local.minute
        if start <= minute < end:
            continue
        day = local.date() if minute < start else local.date() + timedelta(days=1)
        opening = datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=tz)
        opens = max(opens, opening.timestamp() * 1000.0)
        if blocked is None:
            blocked = {"local_time": local.strftime("%H:%M"), "time_zone": name}
    if blocked is None:
        return None
    return {**blocked, "allowed_from_ms": opens}
