"""The service record (志愿服务记录, issue 15.6): /record issues a volunteer's record, drawn
as a PNG by a background job, with a verification code; /verify <code> lets an admin check
one.

What a record states (its content): the volunteer's name, their verified hours by year
(requests and activities apart), the activities they were credited for (title, date,
hours), their lifetime hours and star level, the years they were a registered formal
volunteer, their standing honours, and the district that issues it. The content is read as
of the moment of issue and hashed (SHA-256 of its canonical JSON); the verification code is
the first 50 bits, in base32 (10 characters), of an HMAC over the owner, the moment and that
hash, keyed with a secret derived from the bot token. Each issued record's code, owner,
moment and hash are kept (`service_records`).

/verify finds the record by its code, checks the code against the stored row (a row changed
by hand no longer verifies), and reads the content again as of the moment of issue: the
same hash means every fact on it still holds; hours withdrawn since (a reopened request, an
accepted dispute), an honour revoked, a name changed or forgotten make it differ.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot import ui
from bot.context import Env
from bot.i18n import day_and_time
from bot.people.roles import Roles
from bot.unit import ActorUnit, Unit
from storage import IssuedRecord, Repo

CODE_CHARS = 10
# The label that makes this secret different from every other one derived from the token
# (check-in codes, claim links): a tag of one kind is never valid as another.
_SECRET_LABEL = b"civicloop service records v1"
_CODE = re.compile(rf"^[A-Z2-7]{{{CODE_CHARS}}}$")
# What people misread in a code: base32 has no 0, 1 or 8.
_MISREAD = str.maketrans({"0": "O", "1": "I", "8": "B"})
CONTENT_VERSION = 1
# Submit a background job: (repo, kind, chat, user, language, params) → the job's id.
SubmitJob = Callable[[Repo, str, int, int, str, dict[str, Any]], Awaitable[int]]


def derive_secret(token: str) -> bytes:
    """The per-deployment key for verification codes, derived from the bot token."""
    return hmac.new(token.encode(), _SECRET_LABEL, hashlib.sha256).digest()


def content_hash(content: dict[str, Any]) -> str:
    """The SHA-256 of a record's content in canonical JSON."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def verification_code(secret: bytes, user_id: int, issued_at: float, digest: str) -> str:
    """The 10-character code of a record: its owner, moment and content, signed."""
    message = f"{user_id}:{issued_at!r}:{digest}".encode()
    mac = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.b32encode(mac).decode("ascii")[:CODE_CHARS]


def normalise_code(typed: str) -> str | None:
    """The code as typed (any case, spaces or dashes, 0/1/8 for O/I/B), or None if it
    cannot be one."""
    code = re.sub(r"[\s\-]", "", typed).upper().translate(_MISREAD)
    return code if _CODE.match(code) else None


class Records:
    """/record and /verify."""

    def __init__(self, env: Env, roles: Roles, submit: SubmitJob) -> None:
        self.env = env
        self.roles = roles
        self.submit = submit  # the job runner's: the PNG is drawn off the update path
        self.secret = derive_secret(env.config.token)

    # -- what a record states ----------------------------------------------------------------

    async def content(self, unit: Unit, user_id: int, as_of: float) -> dict[str, Any]:
        """The facts of a volunteer's record as they stood at `as_of` (as corrected since)."""
        repo, config = unit.repo, self.env.config
        zone = config.timezone
        years: dict[int, list[float]] = {}
        for credited_at, hours in await repo.honours.request_credits(user_id, as_of):
            year = datetime.fromtimestamp(credited_at, zone).year
            years.setdefault(year, [0.0, 0.0])[0] += hours
        activities = []
        for _, title, starts_at, year, hours in await repo.honours.activity_credits(user_id,
                                                                                    as_of):
            years.setdefault(year, [0.0, 0.0])[1] += hours
            activities.append([title, f"{datetime.fromtimestamp(starts_at, zone):%Y-%m-%d}",
                               _round(hours)])
        lifetime = sum(sum(pair) for pair in years.values())
        rules = config.activities
        tree = config.areas
        issuer = (tree.areas[tree.root].names if tree is not None
                  else {lang: self.env.t.raw(lang, "record.issuer_default")
                        for lang in ("zh", "en")})
        return {
            "v": CONTENT_VERSION,
            "user": user_id,
            "name": await repo.honours.name_of(user_id),
            "issuer": dict(issuer),
            "years": [[year, _round(pair[0]), _round(pair[1])]
                      for year, pair in sorted(years.items())],
            "activities": activities,
            "lifetime": _round(lifetime),
            "stars": sum(lifetime >= level for level in rules.star_hours),
            "formal_years": [year for year, pair in sorted(years.items())
                             if sum(pair) >= rules.formal_hours],
            "honours": [[h.title, h.year] for h in await repo.honours.honours_of(user_id,
                                                                                 as_of)],
        }

    # -- /record -----------------------------------------------------------------------------

    async def record(self, unit: ActorUnit) -> None:
        """/record: issue the sender's service record; the PNG follows from a job."""
        user_id, now = unit.user_id, unit.now()
        content = await self.content(unit, user_id, now)
        if not content["years"] and not content["honours"]:
            unit.send(ui.message(user_id, unit.t("record.nothing_yet")))
            return
        digest = content_hash(content)
        code = verification_code(self.secret, user_id, now, digest)
        await unit.repo.honours.issue_record(IssuedRecord(code, user_id, now, digest))
        await self.submit(unit.repo, "record", user_id, user_id, unit.language,
                          {"content": content, "code": code, "issued_at": now})
        unit.send(ui.message(user_id, unit.t("record.drawing", code=code)))

    # -- /verify <code> ----------------------------------------------------------------------

    async def verify(self, unit: ActorUnit, args: list[str]) -> None:
        """/verify <code>: whose record, issued when, and whether it still holds."""
        user_id = unit.user_id
        if await self.roles.of(unit.repo, user_id) is None:
            unit.send(ui.message(user_id, unit.t("record.admins_only")))
            return
        code = normalise_code("".join(args)) if args else None
        if code is None:
            unit.send(ui.message(user_id, unit.t("record.bad_code", chars=CODE_CHARS)))
            return
        issued = await unit.repo.honours.issued(code)
        if issued is None or not hmac.compare_digest(code, verification_code(
                self.secret, issued.user_id, issued.issued_at, issued.content_hash)):
            unit.send(ui.message(user_id, unit.t("record.unknown_code", code=code)))
            return
        name = await unit.repo.honours.name_of(issued.user_id) or str(issued.user_id)
        when = datetime.fromtimestamp(issued.issued_at, self.env.config.timezone)
        now = content_hash(await self.content(unit, issued.user_id, issued.issued_at))
        key = "record.verified" if now == issued.content_hash else "record.changed"
        unit.send(ui.message(user_id, unit.t(key, code=code, name=name, id=issued.user_id,
                                             when=day_and_time(when, unit.language,
                                                               self.env.local_year()))))


def _round(hours: float) -> float:
    """Hours as a record prints them (sums of quarter hours; the odd float rounded)."""
    return round(hours, 2)
