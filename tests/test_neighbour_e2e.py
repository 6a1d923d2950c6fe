"""Reporting for a neighbour (帮办员) end to end: a volunteer files a request for a neighbour
without a smartphone, the group card shows none of the neighbour's details, the claimer gets
them in private, every update reaches the helper marked as the neighbour's, and the helper
records the neighbour's confirmation (by phone) and rating, which /stats and /export count."""

from __future__ import annotations

import csv
import io
from typing import Any

from sandbox import SimMessage, SimUser
from storage import Request
from tests.conftest import Town
from tests.flows import REF, card_of, claim, eventually, open_bot, pressed_days_later

NAME = "王阿姨"
PHONE = "0632-7654321"
ADDRESS = "Room 301, 8 Heping Street"
PLACE = "Stairwell of building 8, Heping Street"
DESCRIPTION = "The stairwell light outside her door is broken; she cannot see the steps."
MARK = f"For {NAME}"
HELPER_PHONE = "+10000000000"  # Li's own (the sandbox gives her none), shared by choice


async def approve(town: Town, user: SimUser) -> None:
    """A volunteer whose registration an admin approved (as /join would leave it)."""
    services = town.bot.services
    assert services is not None
    env = services.env
    async with env.db.transaction() as repo:
        await repo.volunteers.apply(user.id, user.first_name, None, None, None, env.now())
        assert await repo.volunteers.decide(user.id, True, town.admin.id, None, env.now())


async def stored(town: Town, ref: str) -> Request:
    """A request as the database holds it."""
    assert town.bot.services is not None
    async with town.bot.services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
    assert request is not None
    return request


async def up_to_the_neighbour(helper: SimUser) -> None:
    """The helper opens the form for a neighbour and answers up to the neighbour's name."""
    await helper.send("/forneighbour")
    await helper.wait_for(text="Report for a neighbour")
    first = await helper.wait_for(text="What kind of help")
    assert "Step 1 of 7" in (first.text or "")  # no contact step: name, phone, address, own
    await helper.press("Help for the elderly")
    await helper.wait_for(text="describe the problem")
    await helper.send(DESCRIPTION)
    await helper.wait_for(text="Where is it")
    await helper.send(PLACE)
    asked = await helper.wait_for(text="neighbour's name")
    assert "Step 4 of 7" in (asked.text or "")


async def the_rest_of_the_form(helper: SimUser) -> str:
    """From the neighbour's phone to the receipt; returns the reference."""
    await helper.send("not a number")  # bad input: told politely, asked again
    again = await helper.wait_for(text="does not look like a phone number")
    assert "13800138000" in (again.text or "")
    await helper.wait_for(text="neighbour's phone number?")
    await helper.send(PHONE)
    question = await helper.wait_for(text="neighbour's address")
    assert (question.reply_markup or {}).get("keyboard")  # "same as the place above"
    await helper.send(ADDRESS)
    await helper.wait_for(text="also have your number")
    await helper.send("maybe")  # neither button: asked again
    await helper.wait_for(text="Please tap a button below")
    await helper.tap("📞 Yes, share my number")
    summary = await helper.wait_for(text="Is everything correct?")
    for detail in (NAME, PHONE, ADDRESS, PLACE, HELPER_PHONE):
        assert detail in (summary.text or ""), summary.text
    await helper.press("✅ Confirm and send")
    receipt = await helper.wait_for(text="Reference number")
    assert MARK in (receipt.text or "")
    match = REF.search(receipt.text or "")
    assert match, receipt.text
    return match.group(0)


async def filed_for_neighbour(helper: SimUser) -> str:
    """The whole form for 王阿姨, answered plainly, the helper's own number kept; returns the
    reference."""
    await up_to_the_neighbour(helper)
    await helper.send(NAME)
    await helper.wait_for(text="neighbour's phone number?")
    await helper.send(PHONE)
    await helper.wait_for(text="neighbour's address")
    await helper.send(ADDRESS)
    await helper.wait_for(text="also have your number")
    await helper.tap("No, only my neighbour's")
    await helper.wait_for(text="Is everything correct?")
    await helper.press("✅ Confirm and send")
    match = REF.search((await helper.wait_for(text="Reference number")).text or "")
    assert match
    return match.group(0)


async def test_a_volunteer_reports_for_a_neighbour_and_records_her_confirmation(
    town: Town,
) -> None:
    """Li files for 王阿姨; the card shows none of her details; Zhang claims and gets them;
    Li hears each step for her, confirms by phone and gives her four stars; /stats and the
    export count the request as a neighbour's, confirmed by phone."""
    li, zhang = town.vol1, town.vol2
    await open_bot(li, zhang)
    await approve(town, li)
    await up_to_the_neighbour(li)
    await li.send(NAME)
    ref = await the_rest_of_the_form(li)

    card = await card_of(town.volunteers, ref)
    for private in (NAME, PHONE, "7654321", ADDRESS, "Heping"):
        assert private not in (card.text or ""), card.text
    assert "Filed by a helper for a neighbour" in (card.text or "")

    assert ref in await claim(zhang, town.volunteers, card)
    details = await zhang.wait_for(text=ref, predicate=lambda m: "Phone" in (m.text or ""))
    for detail in (NAME, PHONE, ADDRESS, PLACE, HELPER_PHONE):
        assert detail in (details.text or ""), details.text
    claimed = await li.wait_for(text="They will contact your neighbour directly")
    assert MARK in (claimed.text or "") and ref in (claimed.text or "")

    await zhang.press("✅ Done", message=details)
    await zhang.wait_for(text="Write a short note")
    await zhang.send("Changed the bulb; the stairs are lit.")
    await zhang.wait_for(text="marked done")
    done = await li.wait_for(text="Changed the bulb")
    assert MARK in (done.text or "")
    question = await li.wait_for(text="Please ask your neighbour")
    assert MARK in (question.text or "")
    assert question.buttons == ["📞 Resolved: confirmed by phone",
                                "🤝 Resolved: confirmed in person", "👎 No, not yet"]
    # Forged presses change nothing: Zhang's on Li's request, Li's plain "Yes" on a
    # neighbour's (it must say how she confirmed).
    request_id = (await stored(town, ref)).id
    forged = await pressed_days_later(zhang, f"vouch:{request_id}:phone")
    assert forged.text == "This is not your request."
    plain = await li.press_data(f"resolved:{request_id}:y", message=question)
    assert (await plain.answer()).text == "This button is no longer valid."
    assert (await stored(town, ref)).status == "done"
    press = await li.press("📞 Resolved: confirmed by phone", message=question)
    assert (await press.answer()).text == "Recorded: confirmed by phone."
    stars = await li.wait_for(text="How many stars does your neighbour give")
    assert MARK in (stars.text or "")
    await li.press("⭐⭐⭐⭐", message=stars)
    await li.wait_for(text="add a comment")
    await li.press("Skip")
    await li.wait_for(text="Your request is closed")
    # A second press of the old question changes nothing.
    again = await li.press("🤝 Resolved: confirmed in person", message=question)
    assert (await again.answer()).text == "You have already answered this."

    request = await stored(town, ref)
    assert (request.citizen_id, request.on_behalf, request.for_name) == (li.id, 1, NAME)
    assert (request.phone, request.for_address, request.address, request.helper_phone) == (
        PHONE, ADDRESS, PLACE, HELPER_PHONE)
    assert (request.status, request.closed_how, request.confirmed_via, request.rating) == (
        "closed", "confirmed", "phone", 4)
    await town.sb.wait_until(lambda: "closed" in (card.text or "").splitlines()[0])

    await town.admin.send("/stats", chat=town.admin_chat)
    stats = await town.admin_chat.wait_for(text="Statistics")
    assert ("Filed for neighbours: 1 (confirmed by phone: 1, in person: 0; closed without "
            "confirmation: 0)") in (stats.text or "")
    assert "Closed: 1 (confirmed by the citizen: 1" in (stats.text or "")

    await town.admin.send("/export")
    await town.admin.wait_for(text="Requests to export: 1")
    rows = await exported_csv(town)
    assert rows[0]["For a neighbour"] == "for a neighbour, confirmed by phone"
    assert not any(NAME in value or "7654321" in value or "Heping" in value
                   for row in rows for value in row.values())


async def exported_csv(town: Town) -> list[dict[str, Any]]:
    """The rows of the CSV the bot sends the admin after /export."""
    while True:
        document = await town.admin.wait_for(predicate=lambda m: m.kind == "document",
                                             timeout=20)
        if str(document.raw["document"]["file_name"]).endswith(".csv"):
            break
    data = town.sb.world.files[document.raw["document"]["file_id"]].data
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def test_a_citizen_cannot_report_for_a_neighbour(town: Town) -> None:
    """Alice is no volunteer: /forneighbour is politely refused and starts no form."""
    await open_bot(town.citizen)
    await town.citizen.send("/forneighbour")
    refusal = await town.citizen.wait_for(text="only approved volunteers and station staff")
    assert "📝 New request" in refusal.buttons
    assert town.bot.services is not None
    async with town.bot.services.env.db.reading() as repo:
        assert await repo.people.dialog(town.citizen.id) is None
    # A volunteer still waiting for approval is refused the same way.
    await open_bot(town.vol2)
    async with town.bot.services.env.db.transaction() as repo:
        await repo.volunteers.apply(town.vol2.id, "Zhang", None, None, None, town.clock.now())
    await town.vol2.send("/forneighbour")
    await town.vol2.wait_for(text="only approved volunteers and station staff")


async def test_station_staff_file_for_a_neighbour_with_her_contact_card(town: Town) -> None:
    """Zhang, an area admin (station staff, no volunteer), sends the neighbour's contact card
    for her phone; their own card is refused; the address may be the place given above."""
    admin = town.vol2
    await open_bot(admin)
    assert town.bot.services is not None
    async with town.bot.services.env.db.transaction() as repo:
        assert await repo.people.grant(admin.id, "guangminglu-01", town.admin.id,
                                       town.clock.now())
    await up_to_the_neighbour(admin)
    await admin.send(NAME)
    await admin.wait_for(text="neighbour's phone number?")
    await admin.send_contact()  # their own number
    await admin.wait_for(text="That is your own number")
    await admin.send_contact(phone="+8613912345678", first_name="Wang")
    await admin.wait_for(text="neighbour's address")
    await admin.tap("🏠 Same as the place above")
    await admin.wait_for(text="also have your number")
    await admin.tap("No, only my neighbour's")
    summary = await admin.wait_for(text="Is everything correct?")
    assert "+8613912345678" in (summary.text or "")
    assert "Your own number for the volunteer: not shared" in (summary.text or "")
    assert summary.text is not None and summary.text.count(PLACE) == 2
    await admin.press("✅ Confirm and send")
    receipt = await admin.wait_for(text="Reference number")
    match = REF.search(receipt.text or "")
    assert match
    request = await stored(town, match.group(0))
    assert (request.phone, request.for_address, request.helper_phone) == (
        "+8613912345678", PLACE, None)
    card = await card_of(town.volunteers, match.group(0))
    await open_bot(town.vol1)
    await claim(town.vol1, town.volunteers, card)
    details = await town.vol1.wait_for(text="+8613912345678")
    assert "helper who filed it" not in (details.text or "")  # not shared: not shown
    # Done, and no answer for a day: the reminder asks how the neighbour confirmed it.
    await town.vol1.press("✅ Done", message=details)
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await admin.wait_for(text="Please ask your neighbour")
    await town.tick(hours=24, minutes=1)
    reminder = await admin.wait_for(text="A reminder about")
    assert f"For {NAME}" in (reminder.text or "") and "how they confirmed" in (
        reminder.text or "")
    assert reminder.buttons == ["📞 Resolved: confirmed by phone",
                                "🤝 Resolved: confirmed in person", "👎 No, not yet"]
    # Still no answer: it closes on the clock, without the neighbour's word.
    await town.tick(hours=48)
    closed = await admin.wait_for(text="closed because we did not hear back")
    assert f"For {NAME}" in (closed.text or "")
    request = await stored(town, match.group(0))
    assert (request.closed_how, request.confirmed_via) == ("unconfirmed", None)
    await town.admin.send("/stats", chat=town.admin_chat)
    stats = await town.admin_chat.wait_for(text="Statistics")
    assert ("Filed for neighbours: 1 (confirmed by phone: 0, in person: 0; closed without "
            "confirmation: 1)") in (stats.text or "")


async def test_a_restart_in_the_middle_of_the_neighbours_form_loses_nothing(
    town: Town,
) -> None:
    """Li has given the neighbour's name when the bot crashes; after the restart the form
    goes on at her phone, and the summary holds everything typed before."""
    li = town.vol1
    await open_bot(li)
    await approve(town, li)
    await up_to_the_neighbour(li)
    await li.send(NAME)
    await li.wait_for(text="neighbour's phone number?")

    await town.bot.crash()
    await town.bot.start()

    await li.send(PHONE)
    await li.wait_for(text="neighbour's address")
    await li.send(ADDRESS)
    await li.wait_for(text="also have your number")
    await li.tap("No, only my neighbour's")
    summary = await li.wait_for(text="Is everything correct?")
    for detail in (NAME, PHONE, ADDRESS, PLACE, DESCRIPTION):
        assert detail in (summary.text or ""), summary.text
    # Edit from the summary: the neighbour's fields are among those offered.
    await li.press("✏️ Edit", message=summary)
    fields = await li.wait_for(text="What would you like to change?")
    assert {"Neighbour's name", "Neighbour's phone", "Neighbour's address",
            "Your own number"} <= set(fields.buttons)
    assert "Phone number" not in fields.buttons  # the helper's contact step is not asked
    await li.press("Neighbour's phone", message=fields)
    await li.wait_for(text="neighbour's phone number?")
    await li.send("13912345678")
    summary = await li.wait_for(text="Is everything correct?")
    assert "13912345678" in (summary.text or "") and PHONE not in (summary.text or "")

    async def drafted() -> bool:
        assert town.bot.services is not None
        async with town.bot.services.env.db.reading() as repo:
            dialog = await repo.people.dialog(li.id)
        return dialog is not None and dialog.step == "confirm"

    await eventually(drafted)


async def test_in_chinese_every_word_is_chinese(town: Town) -> None:
    """王奶奶, an approved volunteer reading Chinese, files for 李大爷: the questions, the
    summary and the receipt are in Chinese, the receipt marked 为 李大爷 报的事."""
    helper = town.grandma
    await helper.send("/start")
    await helper.wait_for(text="请在下面选择")
    await approve(town, helper)
    await helper.send("/forneighbour")
    await helper.wait_for(text="为邻居报事")
    first = await helper.wait_for(text="哪一类帮助")
    assert "第 1 步，共 7 步" in (first.text or "")
    await helper.press("助老服务")
    await helper.wait_for(text="请说明情况")
    await helper.send("李大爷家的水管漏水。")
    await helper.wait_for(text="在哪里")
    await helper.send("和平街8号")
    await helper.wait_for(text="邻居怎么称呼")
    await helper.send("李大爷")
    await helper.wait_for(text="邻居的电话")
    await helper.send("电话不知道")
    await helper.wait_for(text="这看起来不像电话号码")
    await helper.send("13912345678")
    await helper.wait_for(text="邻居的住址")
    await helper.tap("🏠 与上面的地点相同")
    await helper.wait_for(text="您自己")
    await helper.tap("不用，只给邻居的")
    summary = await helper.wait_for(text="邻居电话：13912345678")
    assert "邻居住址：和平街8号" in (summary.text or "") and "不提供" in (summary.text or "")
    await helper.press("✅ 确认提交")
    receipt = await helper.wait_for(text="编号")
    assert "为 李大爷 报的事" in (receipt.text or "")


async def test_an_admins_assign_tells_the_helper_the_volunteer_contacts_the_neighbour(
    town: Town,
) -> None:
    """The admin gives Li's request for 王阿姨 to Zhang, then to Wang: each time Li is told the
    volunteer will contact her neighbour, as a claim tells him, never that they may call him
    (he did not give his number; the volunteer has hers)."""
    li, zhang = town.vol1, town.vol2
    wang = town.sb.add_user("Wang", language_code="en", username="wang_helps")
    town.volunteers.add_member(wang)
    await open_bot(li, zhang, wang)
    await approve(town, li)
    ref = await filed_for_neighbour(li)

    before = len(li.private.bot_messages())
    await town.admin.send(f"/assign {ref} {zhang.id}", chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"{ref} is assigned to Zhang")
    told = await li.wait_for(text=ref, predicate=lambda m: "volunteer" in (m.text or ""))
    assert "contact your neighbour" in (told.text or "") and MARK in (told.text or "")
    await town.admin.send(f"/assign {ref} @wang_helps", chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"{ref} is assigned to Wang")
    await wang.wait_for(text=ref, predicate=lambda m: PHONE in (m.text or ""))
    passed = await li.wait_for(text="another volunteer")
    assert "your neighbour" in (passed.text or "") and MARK in (passed.text or "")
    assert not any("call you" in (m.text or "") for m in li.private.bot_messages()[before:])


async def test_a_reopened_neighbours_request_forgets_how_it_was_confirmed(town: Town) -> None:
    """Li records 王阿姨's word by phone; the admin reopens the request (she rang the station:
    it is broken again). Zhang is done a second time, nobody answers, and it closes on the
    clock: /stats and the request count it closed without confirmation, not by phone."""
    li, zhang = town.vol1, town.vol2
    await open_bot(li, zhang)
    await approve(town, li)
    ref = await filed_for_neighbour(li)

    async def done_by_zhang() -> SimMessage:
        card = await card_of(town.volunteers, ref)
        assert ref in await claim(zhang, town.volunteers, card)
        details = await zhang.wait_for(text=ref, predicate=lambda m: "✅ Done" in m.buttons)
        await zhang.press("✅ Done", message=details)
        await zhang.wait_for(text="Write a short note")
        await zhang.press("Skip")
        return await li.wait_for(text="Please ask your neighbour")

    question = await done_by_zhang()
    await li.press("📞 Resolved: confirmed by phone", message=question)
    await li.wait_for(text="How many stars does your neighbour give")
    assert (await stored(town, ref)).confirmed_via == "phone"

    await town.admin.send(f"/reopen {ref} broken again, she rang the station",
                          chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"{ref} is reopened")
    reopened = await stored(town, ref)
    assert (reopened.status, reopened.closed_how, reopened.confirmed_via) == (
        "dispatched", None, None)
    await done_by_zhang()
    await town.tick(hours=72, minutes=2)
    await li.wait_for(text="closed because we did not hear back")
    request = await stored(town, ref)
    assert (request.status, request.closed_how, request.confirmed_via) == (
        "closed", "unconfirmed", None)
    await town.admin.send("/stats", chat=town.admin_chat)
    stats = await town.admin_chat.wait_for(text="Statistics")
    assert ("Filed for neighbours: 1 (confirmed by phone: 0, in person: 0; closed without "
            "confirmation: 1)") in (stats.text or "")
