"""On-site check-in and check-out (issue 15.4): rotating signed codes for a QR shown at the
venue, the QR image, the place and time checks for a shared location, and the hours a
volunteer's presence earns.

Pure functions, no storage and no Telegram: the activity services call them. A fixed QR code
is not enough, since a photo of it checks anyone in from home; so the code shown at the venue
names its activity and a time window of `step` seconds, is signed with a secret derived from
the bot token, and is refused once `grace_windows` windows have passed after its own.

A payload reads `ci_<activity>_<window>_<tag>` (check-in) or `co_…` (check-out): decimal
numbers without leading zeros, then 16 characters of base64url, the first 96 bits of an
HMAC-SHA256 over the purpose, the activity and the window. At most 45 characters, within the
64 of A-Z a-z 0-9 _ - that Telegram allows a /start payload.

What a rotating code does not stop: someone at the venue passing the live link to a friend at
home within the minute. The shared location (within_radius, in_window) and the organiser's
attendance list are the checks for that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import math
import re
from dataclasses import dataclass
from typing import Literal

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.pil import PilImage

from bot.areas.tree import distance_km

Purpose = Literal["in", "out"]
Refusal = Literal["malformed", "forged", "expired", "future"]

# A new code every minute. With one grace window a code is accepted for one to two minutes
# after it was shown (a photo sent home is useless by the time it could be forwarded and
# scanned), while a volunteer who scanned as the screen changed is not refused.
STEP = 60.0
GRACE_WINDOWS = 1
# The bot may send the next window's code a few seconds early, so that the screen at the venue
# has it when the window turns despite delivery delays; a code further ahead was never shown.
SKEW = 5.0
# 96 bits of tag (16 base64url characters, 12 bytes: no padding and one spelling per tag).
# Guessing one in the two minutes a code lives, at the rate Telegram lets anyone send /start,
# is out of the question; every bit beyond that only makes the QR code denser.
TAG_BYTES = 12
TAG_CHARS = 16
# Both numbers fit 12 digits: an activity id up to 999,999,999,999, a window index likewise
# (with 60 s windows that is tens of thousands of years).
NUMBER_MAX = 10**12 - 1
QUARTER = 900.0  # seconds: hours are credited in quarter hours
_PREFIX: dict[Purpose, str] = {"in": "ci", "out": "co"}
_PURPOSE: dict[str, Purpose] = {prefix: purpose for purpose, prefix in _PREFIX.items()}
# The label that makes this secret different from every other one derived from the token
# (the claim links' included): a tag of one kind is never valid as another.
_SECRET_LABEL = b"civicloop check-in codes v1"
# [0-9], not \d, which matches other scripts' digits too; no leading zeros, so a code has one
# spelling. Activity ids start at 1, windows at 0.
_ID = r"([1-9][0-9]{0,11})"
_WINDOW = r"(0|[1-9][0-9]{0,11})"

# For the /start router (with fullmatch): a payload that matches is a check-in or check-out
# code, which may still be forged or expired: verify_payload says.
payload_pattern = re.compile(rf"(c[io])_{_ID}_{_WINDOW}_([A-Za-z0-9_-]{{{TAG_CHARS}}})")


@dataclass(frozen=True)
class CheckinCode:
    """A verified code: which activity, check-in or check-out, and the window it was shown in."""

    activity_id: int
    purpose: Purpose
    window: int


def derive_secret(token: str) -> bytes:
    """The per-deployment key for check-in codes, derived from the bot token."""
    # Nothing new to configure, and the token itself never reaches a payload or a QR code.
    return hmac.new(token.encode(), _SECRET_LABEL, hashlib.sha256).digest()


def _tag(secret: bytes, purpose: Purpose, activity_id: int, window: int) -> str:
    """The signature of one code, as the payload spells it."""
    message = f"{purpose}:{activity_id}:{window}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:TAG_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def window_of(now: float, step: float = STEP) -> int:
    """The index of the time window `now` falls in."""
    return int(now // step)


def checkin_payload(
    secret: bytes, activity_id: int, now: float, *, step: float = STEP, purpose: Purpose = "in",
) -> str:
    """The /start payload of the code to show at the venue for this activity now."""
    if step <= 0:
        raise ValueError(f"step must be positive, not {step}")
    window = window_of(now, step)
    if not 1 <= activity_id <= NUMBER_MAX or not 0 <= window <= NUMBER_MAX:
        raise ValueError(f"activity {activity_id} at window {window} does not fit a payload")
    tag = _tag(secret, purpose, activity_id, window)
    return f"{_PREFIX[purpose]}_{activity_id}_{window}_{tag}"


def verify_payload(
    secret: bytes, payload: str, now: float, *, step: float = STEP,
    grace_windows: int = GRACE_WINDOWS, skew: float = SKEW,
) -> CheckinCode | Refusal:
    """The code a payload carries, or why it is refused."""
    match = payload_pattern.fullmatch(payload)
    if match is None:
        return "malformed"
    prefix, activity, window_text, tag = match.groups()
    activity_id, window = int(activity), int(window_text)
    purpose = _PURPOSE[prefix]
    # The signature first: a forged code is called forged, whatever its window.
    if not hmac.compare_digest(tag, _tag(secret, purpose, activity_id, window)):
        return "forged"
    if window > window_of(now + skew, step):
        return "future"
    if window < window_of(now, step) - grace_windows:
        return "expired"
    return CheckinCode(activity_id, purpose, window)


def qr_png(link: str) -> bytes:
    """A PNG of the QR code of `link`, black on white, to show on a screen at the venue."""
    # Medium error correction (15% of the code may be unreadable: glare on a phone screen, a
    # finger on a corner) keeps the code small enough for 10-pixel modules, which a phone reads
    # from arm's length; the 4-module white border is the quiet zone the standard asks for.
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(link)
    code.make(fit=True)
    image = code.make_image(image_factory=PilImage, fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points, in metres."""
    return distance_km(lat1, lon1, lat2, lon2) * 1000


def within_radius(
    place_lat: float, place_lon: float, lat: float, lon: float, radius_m: float,
) -> bool:
    """Whether a shared location is within `radius_m` metres of the activity's place."""
    return distance_m(place_lat, place_lon, lat, lon) <= radius_m


def in_window(
    starts_at: float, ends_at: float, now: float, *, early: float, late: float,
) -> bool:
    """Whether check-in is open: from `early` seconds before the start to `late` after the end."""
    return starts_at - early <= now <= ends_at + late


def credited_hours(
    checked_in: float, checked_out: float | None, starts_at: float, ends_at: float, *,
    min_share: float = 0.6, stayed_to_end: bool = False,
) -> float:
    """The hours a presence earns: its time within the activity to the nearest quarter hour
    (at most the activity's length), or 0 under `min_share` of that length."""
    length = ends_at - starts_at
    if length <= 0:
        raise ValueError(f"an activity must end after it starts ({starts_at} → {ends_at})")
    if checked_out is None:
        # No check-out is not proof of staying: phones die and people leave without scanning.
        # The organiser confirms the attendance list at the end (issue 15.5) and, for someone
        # seen there, says so with stayed_to_end; otherwise nothing is credited, and a make-up
        # by hand (with its reason) remains.
        if not stayed_to_end:
            return 0.0
        checked_out = ends_at
    # Clipped to the activity's window, so arriving early or staying late earns nothing more
    # than its length; a check-out before the check-in leaves nothing.
    present = max(0.0, min(checked_out, ends_at) - max(checked_in, starts_at))
    if present < min_share * length:
        return 0.0
    # To the nearest quarter hour rather than down: everyone scans at the door in a queue, a
    # few minutes either side of the start and the end, and rounding down would take a quarter
    # hour from whoever scanned at 9:01 for a 9:00 start; to the nearest, the error is at most
    # 7.5 minutes either way. Never above the activity's length, though: an activity of 1 h 53
    # credits at most 1 h 45. Quarters are exact in binary floating point, so a year of them
    # sums exactly (the formal-volunteer threshold and /stats compare sums).
    quarters = min(math.floor(present / QUARTER + 0.5), math.floor(length / QUARTER))
    return quarters / 4
