"""The duplicate check at intake (issue 18.1), through the sandbox over HTTP: a neighbour who
reports the same problem nearby sees the open request, joins it and follows it to its rating,
or goes on with their own."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot import buttons
from sandbox import SimMessage, SimUser
from storage import Request
from tests.conftest import SHANGHAI, Town, to_toml
from tests.flows import REF, card_of, claim, open_bot, open_form
from tests.test_night_policy_e2e import sounds
from tests.test_quiet_hours_e2e import at

ELDERLY, ENVIRONMENT = "Help for the elderly", "Living environment"
HERE = (34.8600, 117.5500)
# 80 m north of HERE (a degree of latitude is about 111.2 km), and about 1.1 km north.
NEAR = (34.8600 + 80 / 111_195, 117.5500)
FAR = (34.8700, 117.5500)
PROMPT = "Already reported"
GO_ON = "➡️ Go on with my request"
JOIN = "🤝 Yes, the same — follow it"
CONTACT = "How can the volunteer reach you"
ALICE_PHONE = "+8613800000001"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """The check on, as config.example.toml has it (tests/conftest.py turns it off)."""
    return {"duplicates": {"enabled": True}}


def neighbour(town: Town, name: str, phone: str) -> SimUser:
    """One more citizen of the town, in English."""
    return town.sb.add_user(name, language_code="en", phone=phone)


# The form's words on the way to the map point, by language.
FORM_WORDS = {
    "en": ("describe the problem", "Where is it", "📍 Share my location",
           ("a neighbour may have reported", CONTACT)),
    "zh": ("请说明情况", "在哪里", "📍 发送我的位置",
           ("附近可能已经有人报过", "志愿者怎么联系您")),
}


async def form_to_location(citizen: SimUser, where: tuple[float, float], *,
                           category: str = ELDERLY, photo: bool = False,
                           lang: str = "en") -> SimMessage:
    """A citizen fills the form up to the shared map point; the bot's next message: the
    duplicate check's first line, or the contact question."""
    describe, where_is, share, next_words = FORM_WORDS[lang]
    await open_form(citizen, command=True, lang=lang)
    await citizen.press(category)
    await citizen.wait_for(text=describe)
    if photo:
        await citizen.send_photo(caption="The stairwell light is broken, it is dark at night.")
    else:
        await citizen.send("The stairwell light is broken, it is dark at night.")
    await citizen.wait_for(text=where_is)
    await citizen.tap(share, latitude=where[0], longitude=where[1])
    return await citizen.wait_for(predicate=lambda m: any(
        words in (m.text or "") for words in next_words))


async def finish(citizen: SimUser) -> str:
    """From the contact question to the receipt; the new request's reference."""
    await citizen.tap("📞 Share my phone number")
    await citizen.wait_for(text="Is everything correct?")
    await citizen.press("✅ Confirm and send")
    receipt = await citizen.wait_for(text="Reference number")
    match = REF.search(receipt.text or "")
    assert match, receipt.text
    return match.group(0)


async def file_at(citizen: SimUser, where: tuple[float, float], **form: Any) -> str:
    """A citizen files a request at a map point, meeting no earlier one."""
    first = await form_to_location(citizen, where, **form)
    assert CONTACT in (first.text or ""), first.text
    return await finish(citizen)


async def request(town: Town, ref: str) -> Request:
    """A request as the database holds it."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        found = await repo.requests.request_by_ref(ref)
    assert found is not None
    return found


async def follower_rating(town: Town, ref: str, user_id: int) -> int | None:
    """The stars a follower gave, as stored on their own row."""
    services = town.bot.services
    assert services is not None
    found = await request(town, ref)
    async with services.env.db.reading() as repo:
        row = await repo._one("SELECT rating FROM request_followers "
                              "WHERE request_id = ? AND user_id = ?", (found.id, user_id))
    assert row is not None
    return None if row[0] is None else int(row[0])


async def test_the_prompt_comes_for_a_near_open_one_only(town: Town) -> None:
    """Alice reports a broken light with a photo. Bob, 80 m away in the same category, is
    shown it (photo, distance, age, status) and goes on: his own request is filed as before.
    Another category, 1.1 km away, a request cancelled, or one older than 14 days: no
    prompt. Grandma, in Chinese three days later, reads the Chinese line."""
    bob = neighbour(town, "Bob", "+8613800000011")
    carol = neighbour(town, "Carol", "+8613800000012")
    alices = await file_at(town.citizen, HERE, photo=True)

    town.clock.advance(hours=5)
    prompt = await form_to_location(bob, NEAR)
    assert "a neighbour may have reported this already" in (prompt.text or "")
    entry = await bob.wait_for(text=PROMPT)
    assert entry.kind == "photo", entry.kind  # the first reporter's photo
    assert "80 m away, 5 h ago — is this the same?" in (entry.text or "")
    assert "Status: waiting for a volunteer" in (entry.text or "")
    assert entry.buttons == [JOIN]
    assert alices not in (entry.text or "") and ALICE_PHONE not in (entry.text or "")
    await bob.wait_for(text="Go on with my own request")
    await bob.press(GO_ON)
    await bob.wait_for(text=CONTACT)
    bobs = await finish(bob)
    assert bobs != alices
    assert (await request(town, bobs)).followers == 0

    # Another category at the very same point, or the same category 1.1 km away: none.
    assert CONTACT in ((await form_to_location(carol, NEAR, category=ENVIRONMENT)).text or "")
    await carol.send("/cancel")
    await carol.wait_for(text="Nothing was sent")
    assert CONTACT in ((await form_to_location(carol, FAR)).text or "")
    await carol.send("/cancel")
    await carol.wait_for(text="Nothing was sent")

    # Three days later, in Chinese: the nearest first (Bob's, then Alice's), each with Join.
    town.clock.advance(days=3)
    grandma = town.grandma
    first = await form_to_location(grandma, HERE, category="助老服务", lang="zh")
    assert "附近可能已经有人报过" in (first.text or "")
    nearest = await grandma.wait_for(text="已有人在")
    second = await grandma.wait_for(text="已有人在")
    assert "已有人在 10 米外报过，3 天前 — 是同一件事吗？" in (nearest.text or "")  # Alice's
    assert "已有人在 80 米外报过，3 天前 — 是同一件事吗？" in (second.text or "")  # Bob's
    assert "状态：等待接单" in (nearest.text or "")
    await grandma.send("/cancel")

    # Alice cancels hers: a closed request is offered to nobody.
    await town.citizen.send("/cancel " + alices)
    await town.citizen.wait_for(text="Cancel request")
    await town.citizen.press("Yes, cancel it")
    await town.citizen.wait_for(text="cancelled")
    first = await form_to_location(carol, HERE)
    assert "a neighbour may have reported" in (first.text or "")
    only = await carol.wait_for(text=PROMPT)
    assert "80 m away" in (only.text or "")  # Bob's; Alice's is cancelled
    await carol.wait_for(text="Go on with my own request")
    assert len([m for m in carol.private.messages
                if m.from_bot and PROMPT in (m.text or "")]) == 1  # Bob's only
    await carol.send("/cancel")
    await carol.wait_for(text="Nothing was sent")

    # Fifteen days on, Bob's is too old to be offered: none.
    town.clock.advance(days=12)
    assert CONTACT in ((await form_to_location(carol, HERE)).text or "")


async def test_a_neighbour_joins_follows_it_and_rates_it_apart(town: Town) -> None:
    """Bob joins Alice's request: his form ends, the card shows "+1 neighbour", he hears it
    claimed and done (never who did it or Alice's phone) and rates it at the end, his stars
    kept apart from Alice's; Grandma joins too, in Chinese, and hears it in Chinese. /stats
    counts one request, closed, 100%, and two neighbours joined. Alice herself is never
    offered her own request; Bob cannot join twice."""
    bob = neighbour(town, "Bob", "+8613800000011")
    grandma = town.grandma  # in Chinese: her news comes in Chinese
    await open_bot(town.vol1)
    ref = await file_at(town.citizen, HERE)
    card = await card_of(town.volunteers, ref)

    await form_to_location(bob, NEAR)
    entry = await bob.wait_for(text=PROMPT)
    press = await bob.press(JOIN, message=entry)
    assert (await press.answer()).text == "You follow it now"
    joined = await bob.wait_for(text="You now follow request")
    assert ref in (joined.text or "") and "waiting for a volunteer" in (joined.text or "")
    await bob.wait_for(text="What would you like to do?")
    await town.sb.wait_until(lambda: "+1 neighbour(s) reported this too" in (card.text or ""))
    assert card.buttons == ["🙋 Claim"]
    found = await request(town, ref)
    assert found.followers == 1
    await bob.send("hello?")  # the draft is gone: nothing waits for an answer
    await bob.wait_for(text="did not understand")

    # The old Join again: the form is closed, nothing changes.
    again = await bob.press(JOIN, message=entry)
    assert (await again.answer()).text == "This form is already closed."
    # Bob in a new form at the same place: the one he follows is not offered again.
    assert CONTACT in ((await form_to_location(bob, NEAR)).text or "")
    await bob.send("/cancel")
    await bob.wait_for(text="Nothing was sent")
    # Alice at her own spot: her own request is not offered to her.
    assert CONTACT in ((await form_to_location(town.citizen, HERE)).text or "")
    await town.citizen.send("/cancel")
    await town.citizen.wait_for(text="Nothing was sent")

    # Grandma joins too, in Chinese: +2 on the card.
    await form_to_location(grandma, HERE, category="助老服务", lang="zh")
    await grandma.press("🤝 是同一件事，我也关注", message=await grandma.wait_for(text="已有人在"))
    await grandma.wait_for(text="您已关注诉求")
    await town.sb.wait_until(lambda: "+2 neighbour(s) reported this too" in (card.text or ""))

    await claim(town.vol1, town.volunteers, card)
    taken = await bob.wait_for(text="a volunteer has taken it")
    await town.sb.wait_until(lambda: "claimed by Li" in (card.text or "")
                             and "+2 neighbour(s)" in (card.text or ""))
    task = await town.vol1.wait_for(predicate=lambda m: "✅ Done" in str(m.raw.get(
        "reply_markup", "")))  # the claimer's details, with Done
    await town.vol1.press("✅ Done", message=task)
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.send("New bulb fitted.")
    done = await bob.wait_for(text="says it is done")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")
    await town.citizen.press("⭐⭐⭐⭐⭐")
    closed = await bob.wait_for(text="is closed. How would you rate")
    assert closed.buttons == ["⭐" * n for n in range(1, 6)]
    rated = await bob.press("⭐⭐⭐⭐", message=closed)
    assert "4 star" in ((await rated.answer()).text or "")
    await bob.wait_for(text="Thank you for your rating: 4 star(s).")
    twice = await bob.press("⭐⭐", message=closed)
    assert (await twice.answer()).text == ("This request cannot be rated now (it is not "
                                           "closed, or you rated it already).")
    # Nothing of the volunteer or of Alice in what Bob was told.
    for message in (joined, taken, done, closed):
        assert "Li" not in (message.text or "").split() and ALICE_PHONE not in (
            message.text or "") and "Jianshe" not in (message.text or "")
    assert (await request(town, ref)).rating == 5
    assert await follower_rating(town, ref, bob.id) == 4
    assert await follower_rating(town, ref, grandma.id) is None
    await grandma.wait_for(text="已有志愿者接单")
    await grandma.wait_for(text="志愿者表示已办结")
    await grandma.wait_for(text="已办结。请为这次服务打分")

    await town.admin.send("/stats", chat=town.admin_chat)
    stats = await town.admin_chat.wait_for(text="Statistics")
    text = stats.text or ""
    assert "Collected: 1" in text and "Closed: 1" in text, text
    assert "Completion rate: 100.00%" in text, text
    assert ("Neighbours who joined an open request instead of reporting it again: 2 (not "
            "requests: in no figure above or below), their own ratings 4.00 from 1") in text


async def test_a_join_of_a_request_closed_meanwhile_says_so_and_the_form_goes_on(
    town: Town,
) -> None:
    """Bob is shown Alice's request; before he presses Join an admin cancels it. His press
    gets one clear line and the form goes on to his own request. A forged Join (a request
    not offered) changes nothing."""
    bob = neighbour(town, "Bob", "+8613800000011")
    ref = await file_at(town.citizen, HERE)
    other = await file_at(town.citizen, FAR)
    await form_to_location(bob, NEAR)
    entry = await bob.wait_for(text=PROMPT)
    go_on = await bob.wait_for(text="Go on with my own request")

    # A forged press naming a request the draft was not shown: refused, nothing joined.
    draft = entry.button_data[JOIN].split(":")[1]
    other_id = (await request(town, other)).id
    forged = await bob.press_data(buttons.FORM.data(draft, "join", other_id), message=entry)
    assert (await forged.answer()).text == "This button is no longer valid."
    assert (await request(town, other)).followers == 0

    await town.admin.send(f"/cancel {ref} duplicate of an older one", chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"{ref} is cancelled")
    press = await bob.press(JOIN, message=entry)
    await press.answer()
    line = await bob.wait_for(text="was cancelled meanwhile")
    assert ref in (line.text or "")
    await bob.wait_for(text=CONTACT)
    assert (await request(town, ref)).followers == 0
    stale = await bob.press(GO_ON, message=go_on)  # past the check already
    assert (await stale.answer()).text == "This button is no longer valid."
    mine = await finish(bob)
    assert mine not in (ref, other)


async def test_a_follower_hears_an_auto_close_and_may_rate(town: Town) -> None:
    """Alice never answers after Li is done: the request closes on the clock, and Bob, who
    joined it, is told and asked for his stars."""
    bob = neighbour(town, "Bob", "+8613800000011")
    await open_bot(town.vol1)
    ref = await file_at(town.citizen, HERE)
    card = await card_of(town.volunteers, ref)
    await form_to_location(bob, NEAR)
    await bob.press(JOIN, message=await bob.wait_for(text=PROMPT))
    await bob.wait_for(text="You now follow request")
    await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text=ALICE_PHONE)  # the claimer's details, with Done
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await bob.wait_for(text="says it is done")
    await town.tick(days=8)
    closed = await bob.wait_for(text="is closed. How would you rate")
    await bob.press("⭐⭐⭐", message=closed)
    await bob.wait_for(text="3 star(s)")
    assert await follower_rating(town, ref, bob.id) == 3
    assert (await request(town, ref)).rating is None


async def test_the_check_can_be_turned_off_by_reload(town: Town) -> None:
    """The district turns the check off in the file and types /reload: the next neighbour
    goes straight on, and the reload names nothing as waiting for a restart."""
    bob = neighbour(town, "Bob", "+8613800000011")
    await open_bot(town.admin)
    await file_at(town.citizen, HERE)
    source = town.bot.config.source
    assert source is not None
    raw = tomllib.loads(source.read_text("utf-8"))
    raw["duplicates"] = {"enabled": False, "distance_m": 300, "max_age_days": 7}
    source.write_text(to_toml(raw), "utf-8")
    await town.admin.send("/reload")
    done = await town.admin.wait_for(text="Reloaded")
    assert "restart" not in (done.text or "")
    assert CONTACT in ((await form_to_location(bob, NEAR)).text or "")


async def test_a_kind_for_one_persons_need_is_never_offered_as_the_same(town: Town) -> None:
    """Legal advice is one person's need: the district marks the category
    `duplicate_check = false` and reloads. Bob, 80 m from Alice's open legal-aid request, is
    not asked whether his is the same: his form goes straight on. Another kind is still
    checked: Carol, near Alice's rubbish, is shown it."""
    bob = neighbour(town, "Bob", "+8613800000011")
    carol = neighbour(town, "Carol", "+8613800000012")
    await open_bot(town.admin)
    await file_at(town.citizen, HERE, category="Legal aid")
    await file_at(town.citizen, HERE, category=ENVIRONMENT)
    source = town.bot.config.source
    assert source is not None
    raw = tomllib.loads(source.read_text("utf-8"))
    for category in raw["categories"]:
        if category["code"] == "legal":
            category["duplicate_check"] = False
    source.write_text(to_toml(raw), "utf-8")
    await town.admin.send("/reload")
    await town.admin.wait_for(text="Reloaded")
    assert CONTACT in ((await form_to_location(bob, NEAR, category="Legal aid")).text or "")
    shown = await form_to_location(carol, NEAR, category=ENVIRONMENT)
    assert "a neighbour may have reported" in (shown.text or "")


async def test_a_follower_of_a_neighbours_request_hears_the_helpers_confirmation(
    town: Town,
) -> None:
    """Li files for 王阿姨 at a map point; Bob, 80 m away, joins it. Zhang claims it and is
    done; Li records the neighbour's word (by phone). Bob hears it closed and may rate it, as
    he would after a citizen's own Yes."""
    from tests.test_neighbour_e2e import approve

    li, zhang = town.vol1, town.vol2
    bob = neighbour(town, "Bob", "+8613800000011")
    await open_bot(li, zhang)
    await approve(town, li)
    await li.send("/forneighbour")
    await li.wait_for(text="What kind of help")
    await li.press(ELDERLY)
    await li.wait_for(text="describe the problem")
    await li.send("The stairwell light outside her door is broken.")
    await li.wait_for(text="Where is it")
    await li.tap("📍 Share my location", latitude=HERE[0], longitude=HERE[1])
    await li.wait_for(text="neighbour's name")
    await li.send("王阿姨")
    await li.wait_for(text="neighbour's phone number?")
    await li.send("0632-7654321")
    await li.wait_for(text="neighbour's address")
    await li.send("Room 301, 8 Heping Street")
    await li.wait_for(text="also have your number")
    await li.tap("No, only my neighbour's")
    await li.wait_for(text="Is everything correct?")
    await li.press("✅ Confirm and send")
    receipt = await li.wait_for(text="Reference number")
    match = REF.search(receipt.text or "")
    assert match
    ref = match.group(0)

    await form_to_location(bob, NEAR)
    await bob.press(JOIN, message=await bob.wait_for(text=PROMPT))
    await bob.wait_for(text="You now follow request")
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(zhang, town.volunteers, card)
    await bob.wait_for(text="a volunteer has taken it")
    await zhang.press("✅ Done", message=await zhang.wait_for(text="0632-7654321"))
    await zhang.wait_for(text="Write a short note")
    await zhang.press("Skip")
    await bob.wait_for(text="says it is done")
    question = await li.wait_for(text="Please ask your neighbour")
    await li.press("📞 Resolved: confirmed by phone", message=question)
    await li.wait_for(text="How many stars does your neighbour give")
    assert (await request(town, ref)).status == "closed"
    closed = await bob.wait_for(text="is closed. How would you rate")
    assert ref in (closed.text or "")
    await bob.press("⭐⭐⭐⭐", message=closed)
    await bob.wait_for(text="4 star(s)")
    assert await follower_rating(town, ref, bob.id) == 4


async def test_a_follower_rates_again_a_request_an_admin_reopened(town: Town) -> None:
    """Bob joined Alice's request and gave two stars when it closed; the admin reopens it
    (the problem came back) and it closes again. Bob, asked again for his stars, can give
    them: the round he rated is undone, as Alice's rating is."""
    bob = neighbour(town, "Bob", "+8613800000011")
    await open_bot(town.vol1)
    ref = await file_at(town.citizen, HERE)
    await form_to_location(bob, NEAR)
    await bob.press(JOIN, message=await bob.wait_for(text=PROMPT))
    await bob.wait_for(text="You now follow request")

    async def round_closed() -> SimMessage:
        card = await card_of(town.volunteers, ref)
        assert ref in await claim(town.vol1, town.volunteers, card)
        task = await town.vol1.wait_for(text=ref, predicate=lambda m: "✅ Done" in m.buttons)
        await town.vol1.press("✅ Done", message=task)
        await town.vol1.wait_for(text="Write a short note")
        await town.vol1.press("Skip")
        question = await town.citizen.wait_for(text="resolved?")
        await town.citizen.press("👍 Yes, resolved", message=question)
        await town.citizen.wait_for(text="How would you rate")
        return await bob.wait_for(text="is closed. How would you rate")

    first = await round_closed()
    await bob.press("⭐⭐", message=first)
    await bob.wait_for(text="2 star(s)")
    await town.admin.send(f"/reopen {ref} it is dark again", chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"{ref} is reopened")
    await bob.wait_for(text="is waiting for a volunteer again")
    assert await follower_rating(town, ref, bob.id) is None

    second = await round_closed()
    press = await bob.press("⭐⭐⭐⭐⭐", message=second)
    assert "5 star" in ((await press.answer()).text or "")
    await bob.wait_for(text="5 star(s)")
    assert await follower_rating(town, ref, bob.id) == 5


@pytest.mark.parametrize(("moment", "sound"), [
    (datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI), False),
    (datetime(2026, 6, 11, 2, 0, tzinfo=SHANGHAI), False),
    (datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI), False),
    (datetime(2026, 6, 10, 15, 0, tzinfo=SHANGHAI), True),
], ids=["23:30", "02:00", "new year's eve 23:50", "day 15:00"])
async def test_a_follower_hears_a_volunteers_press_at_night_without_a_sound(
        town: Town, moment: datetime, sound: bool) -> None:
    """Bob follows Alice's request; at `moment` Li takes it and gives it back: Bob hears of
    both at once, without a sound at night."""
    bob = neighbour(town, "Bob", "+8613800000011")
    await open_bot(town.vol1)
    town.clock.set(moment - timedelta(minutes=10))
    ref = await file_at(town.citizen, HERE)
    card = await card_of(town.volunteers, ref)
    await form_to_location(bob, NEAR)
    await bob.press(JOIN, message=await bob.wait_for(text=PROMPT))
    await bob.wait_for(text="You now follow request")
    town.clock.set(moment)
    await claim(town.vol1, town.volunteers, card)
    await bob.wait_for(text="a volunteer has taken it")
    task = await town.vol1.wait_for(text=f"You took {ref}")
    await town.vol1.press("↩️ Release", message=task)
    await bob.wait_for(text="is waiting for a volunteer again")
    words = ("a volunteer has taken it", "is waiting for a volunteer again")
    assert [sounds(town, bob.id, said) for said in words] == [[sound], [sound]]


async def test_a_follower_told_at_08_00_of_a_close_at_night_hears_it_ring(town: Town) -> None:
    """Li finishes at 23:30 and Alice never answers: the request closes on the clock at
    night, days later. Bob, who joined it, is told at 08:00, and that message rings as any
    by day."""
    bob = neighbour(town, "Bob", "+8613800000011")
    await open_bot(town.vol1)
    town.clock.set(datetime(2026, 6, 10, 23, 20, tzinfo=SHANGHAI))
    ref = await file_at(town.citizen, HERE)
    card = await card_of(town.volunteers, ref)
    await form_to_location(bob, NEAR)
    await bob.press(JOIN, message=await bob.wait_for(text=PROMPT))
    await bob.wait_for(text="You now follow request")
    await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text=ALICE_PHONE)
    town.clock.set(datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI))
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await bob.wait_for(text="says it is done")
    await at(town, datetime(2026, 6, 18, 23, 40, tzinfo=SHANGHAI))
    assert (await request(town, ref)).status == "closed"
    await at(town, datetime(2026, 6, 19, 8, 0, 1, tzinfo=SHANGHAI))
    await bob.wait_for(text="is closed. How would you rate")
    assert sounds(town, bob.id, "is closed. How would you rate") == [True]


async def test_days_ago_counts_beijing_calendar_days(town: Town) -> None:
    """Alice reports at 23:30 on 1 December; a neighbour reports the same at 00:10 on
    4 December. For him hers is three days old (the 1st to the 4th), though only 2 days and
    40 minutes have passed."""
    town.clock.set(datetime(2026, 12, 1, 23, 30, tzinfo=SHANGHAI))
    await file_at(town.citizen, HERE)
    town.clock.set(datetime(2026, 12, 4, 0, 10, tzinfo=SHANGHAI))
    bob = neighbour(town, "Bob", "+8613800000002")
    await form_to_location(bob, NEAR)
    entry = await bob.wait_for(text=PROMPT)
    assert "80 m away, 3 days ago — is this the same?" in (entry.text or ""), entry.text
