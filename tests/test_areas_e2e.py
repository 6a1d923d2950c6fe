"""Areas end to end: citizens pick their community, requests find the nearest bound group and
climb the tree when nobody claims them.

The town here runs on the full synthetic tree of Shizhong district (1 centre, 11 institutes,
158 stations). Admins bind groups with /bind <category> [area]; a request goes to the group
of its station, else of its institute, else of the whole district, else to the admin chat.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.areas.tree import distance_km, load_areas
from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town
from tests.flows import REF, card_of, claim, open_form

AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CLAIM = "🙋 Claim"
ELDERLY, LEGAL = "Help for the elderly", "Legal aid"
GUANGMINGLU = "Guangminglu Subdistrict Practice Institute"
GUANGMINGLU_01 = "Guangminglu Community 1 Practice Station"
GUANGMINGLU_02 = "Guangminglu Community 2 Practice Station"
ZHONGXINJIE = "Zhongxinjie Subdistrict Practice Institute"
ZHONGXINJIE_01 = "Zhongxinjie Community 1 Practice Station"
DISTRICT = "the whole district"
ESCALATED = "passed it to the service centre"


# -- a town with the area tree ---------------------------------------------------------------


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """conftest's town (elderly requests go to the volunteers group by config), on the tree."""
    return {"areas": {"file": str(AREA_FILE)}}


@pytest.fixture
def town(town: Town) -> Town:
    """The shared town, checked to run on the full tree."""
    areas = town.bot.config.areas
    assert areas is not None and len(areas) == 170
    return town


# -- steps the stories share -----------------------------------------------------------------


async def bound_group(town: Town, title: str, where: str, area_name: str,
                      category: str = ELDERLY) -> SimChat:
    """A new volunteers group where the admin types /bind <where> and gets the confirmation."""
    group = town.sb.add_group(title)
    group.add_member(town.admin, status="administrator")
    group.add_member(town.vol1)
    await town.admin.send(f"/bind {where}", chat=group)
    await group.wait_for(text=f"This group now receives requests for {category} in {area_name}.")
    return group


async def start_request(citizen: SimUser, category: str, text: str) -> None:
    """The citizen opens the form, picks the category and describes the problem."""
    await citizen.send("/start")
    await citizen.wait_for(text="Choose below")
    await open_form(citizen)
    await citizen.press(category)
    await citizen.wait_for(text="describe the problem")
    await citizen.send(text)
    await citizen.wait_for(text="Where is it")


async def type_address(citizen: SimUser) -> SimMessage:
    """The citizen types an address and is asked for the subdistrict or town."""
    await citizen.send("12 Jianshe Road, building 3")
    return await citizen.wait_for(text="Tap your subdistrict or town first")


async def send_request(citizen: SimUser) -> str:
    """From the contact step: share the phone, confirm, and return the reference."""
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("📞 Share my phone number")
    await citizen.wait_for(text="Is everything correct?")
    await citizen.press("✅ Confirm and send")
    receipt = await citizen.wait_for(text="Reference number")
    match = REF.search(receipt.text)
    assert match, receipt.text
    return match.group(0)


async def file_at(citizen: SimUser, institute: str, station: str, *, category: str = ELDERLY,
                  text: str = "My kitchen tap is leaking and I cannot fix it.") -> str:
    """A citizen types an address, taps the institute, then the station (or "Somewhere in
    <institute>"), and sends the request; returns its reference."""
    await start_request(citizen, category, text)
    institutes = await type_address(citizen)
    await citizen.press(institute, message=institutes)
    stations = await citizen.wait_for(text=f"And which community in {institute}?")
    await citizen.press(station, message=stations)
    return await send_request(citizen)


def mentions(chat: SimChat, text: str) -> list[SimMessage]:
    """Every live bot message of a chat that contains `text`."""
    return [m for m in chat.bot_messages() if text in (m.text or "")]


def cards(chat: SimChat, ref: str) -> list[SimMessage]:
    """The request cards (not reminders) of a reference in a chat."""
    return [m for m in mentions(chat, ref) if "Category: " in (m.text or "")]


def assert_clean(town: Town) -> None:
    """Telegram never had to slow the bot down and refused none of its calls."""
    assert town.sb.count_429 == 0, town.sb.errors
    assert town.sb.errors == []


# -- the stories -----------------------------------------------------------------------------


async def test_a_request_goes_to_the_nearest_bound_group_up_the_tree(town: Town) -> None:
    """The admin binds elderly help to a group for Guangminglu station 1, one for the whole
    Guangminglu institute and one for the whole district. Alice picks her community by
    buttons (institute, then station): at station 1 her request goes to the station group,
    at station 2 (no group of its own) to the institute group, in Zhongxinjie to the district
    group, and a legal-aid request, which no group serves, to the admin chat."""
    station = await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01",
                                GUANGMINGLU_01)
    institute = await bound_group(town, "Guangminglu volunteers", "elderly guangminglu",
                                  GUANGMINGLU)
    district = await bound_group(town, "District volunteers", "elderly", DISTRICT)

    alice = town.citizen
    at_station = await file_at(alice, GUANGMINGLU, GUANGMINGLU_01)
    card = await card_of(station, at_station)
    assert card.buttons == [CLAIM]
    assert f"{GUANGMINGLU_01} · address given" in card.text
    assert "Jianshe Road" not in card.text  # only the claimer sees the address

    nearby = await file_at(alice, GUANGMINGLU, GUANGMINGLU_02, text="The stair light is out.")
    assert GUANGMINGLU_02 in (await card_of(institute, nearby)).text
    elsewhere = await file_at(alice, ZHONGXINJIE, ZHONGXINJIE_01, text="The door is stuck.")
    assert ZHONGXINJIE_01 in (await card_of(district, elsewhere)).text
    legal = await file_at(alice, GUANGMINGLU, GUANGMINGLU_01, category=LEGAL,
                          text="My landlord keeps my deposit.")
    assert LEGAL in (await card_of(town.admin_chat, legal)).text

    expected = {station: [at_station], institute: [nearby], district: [elsewhere],
                town.admin_chat: [legal], town.volunteers: []}
    for chat, refs in expected.items():
        found = [ref for ref in (at_station, nearby, elsewhere, legal) if mentions(chat, ref)]
        assert found == refs, (chat.title, found)
    assert_clean(town)


async def test_a_shared_location_offers_the_nearest_stations_first(town: Town) -> None:
    """Alice shares her location a few metres from Guangminglu station 1. The area question
    offers the four nearest stations, nearest first (station 1 on top), then "Another area…"
    and "I am not sure". She taps station 1 and the request goes to its group."""
    station = await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01",
                                GUANGMINGLU_01)
    alice = town.citizen
    latitude, longitude = 34.83560, 117.55322  # guangminglu-01 is at 34.83556, 117.55319
    await start_request(alice, ELDERLY, "The heating does not work.")
    await alice.tap("📍 Share my location", latitude=latitude, longitude=longitude)
    question = await alice.wait_for(text="These are the nearest to the place you shared")

    tree = load_areas(AREA_FILE)
    stations = tree.leaves()
    stations.sort(key=lambda a: distance_km(latitude, longitude, a.latitude or 0.0,
                                            a.longitude or 0.0))
    nearest = [a.name("en") for a in stations[:4]]
    assert nearest[0] == GUANGMINGLU_01
    assert question.buttons == [*nearest, "Another area…", "I am not sure"]

    await alice.press(GUANGMINGLU_01, message=question)
    ref = await send_request(alice)
    card = await card_of(station, ref)
    assert f"{GUANGMINGLU_01} · location shared" in card.text
    assert mentions(town.volunteers, ref) == []
    assert_clean(town)


async def test_an_unclaimed_request_climbs_the_tree_one_level_at_a_time(town: Town) -> None:
    """Nobody claims Alice's request at Guangminglu station 1. Every 2 hours it climbs one
    level: its card is posted again, marked Escalated, in the institute group, then in the
    district group, then in the admin chat, once each, and then it stops. Alice is told once.
    The admin claims from the newest card and every card shows who took it."""
    town.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
    station = await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01",
                                GUANGMINGLU_01)
    institute = await bound_group(town, "Guangminglu volunteers", "elderly guangminglu",
                                  GUANGMINGLU)
    district = await bound_group(town, "District volunteers", "elderly", DISTRICT)
    ref = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    first = await card_of(station, ref)

    assert await town.tick(hours=2, minutes=1) == 2  # the 30-minute reminder, the climb
    at_institute = await card_of(institute, ref)
    assert "Escalated" in at_institute.text and at_institute.buttons == [CLAIM]
    await town.citizen.wait_for(text=ESCALATED)
    assert mentions(district, ref) == [] and mentions(town.admin_chat, ref) == []

    assert await town.tick(hours=2) == 1
    at_district = await card_of(district, ref)
    assert "Escalated" in at_district.text and at_district.buttons == [CLAIM]
    assert mentions(town.admin_chat, ref) == []

    assert await town.tick(hours=2) == 1
    at_admins = await card_of(town.admin_chat, ref)
    assert "Escalated" in at_admins.text and at_admins.buttons == [CLAIM]

    assert await town.tick(hours=5) == 0  # the top: nothing climbs further

    await town.admin.send("/start")
    await town.admin.wait_for(text="Choose below")
    assert ref in await claim(town.admin, town.admin_chat, at_admins)
    all_cards = (first, at_institute, at_district, at_admins)
    await town.sb.wait_until(lambda: all(
        "claimed by Admin" in (c.text or "") and not c.buttons for c in all_cards))
    await town.citizen.wait_for(text=f"a volunteer has taken your request {ref}")

    # Each chat gets its calls in order, so everything sent before the claim is in by now.
    for chat in (station, institute, district, town.admin_chat):
        assert len(cards(chat, ref)) == 1, (chat.title, [m.text for m in mentions(chat, ref)])
    assert mentions(town.volunteers, ref) == []
    assert len(mentions(town.citizen.private, ESCALATED)) == 1
    assert_clean(town)


async def test_admin_commands_know_the_areas(town: Town) -> None:
    """/bind with an area that is not in the file is refused and binds nothing; /bindings
    lists each binding with its area's name, and the config's group as the whole district;
    /stats guangminglu counts only Guangminglu's subtree (2 of Alice's 3 requests), plain
    /stats counts all 3, and /stats of an unknown area is refused politely."""
    stray = town.sb.add_group("Stray group")
    stray.add_member(town.admin, status="administrator")
    await town.admin.send("/bind elderly nowhere-99", chat=stray)
    await stray.wait_for(text="There is no area nowhere-99. Use an area id from the area file.")

    station = await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01",
                                GUANGMINGLU_01)
    institute = await bound_group(town, "Guangminglu volunteers", "elderly GuangMingLu",
                                  GUANGMINGLU)
    await town.admin.send("/bindings", chat=town.admin_chat)
    listing = await town.admin_chat.wait_for(text="Volunteer groups")
    assert listing.text.splitlines()[1:] == [
        f"• {ELDERLY} · {GUANGMINGLU} → Guangminglu volunteers",
        f"• {ELDERLY} · {GUANGMINGLU_01} → Guangminglu 1 volunteers",
        f"• {ELDERLY} · whole district → {town.volunteers.id} (config)",
    ]
    assert "Stray group" not in listing.text

    alice = town.citizen
    at_station = await file_at(alice, GUANGMINGLU, GUANGMINGLU_01, text="The tap drips.")
    in_institute = await file_at(alice, GUANGMINGLU, f"Somewhere in {GUANGMINGLU}",
                                 text="The lift is broken.")
    elsewhere = await file_at(alice, ZHONGXINJIE, ZHONGXINJIE_01, text="The door is stuck.")
    await card_of(station, at_station)
    assert GUANGMINGLU in (await card_of(institute, in_institute)).text
    await card_of(town.volunteers, elsewhere)  # the district, by config

    await town.admin.send("/stats guangminglu", chat=town.admin_chat)
    scoped = await town.admin_chat.wait_for(text=f"Statistics · {GUANGMINGLU}")
    assert "Collected: 2" in scoped.text and "Open now: 2" in scoped.text, scoped.text
    await town.admin.send("/stats", chat=town.admin_chat)
    whole = await town.admin_chat.wait_for(text=f"Statistics · {DISTRICT}")
    assert "Collected: 3" in whole.text and "Open now: 3" in whole.text, whole.text
    await town.admin.send("/stats guangminglu-02", chat=town.admin_chat)
    empty = await town.admin_chat.wait_for(text=f"Statistics · {GUANGMINGLU_02}")
    assert "Collected: 0" in empty.text, empty.text

    await town.admin.send("/stats nowhere", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="There is no area nowhere.")
    assert mentions(town.admin_chat, "Statistics ·")[-1] is empty  # no numbers for it
    assert_clean(town)


async def test_not_sure_of_the_area_routes_by_category_only(town: Town) -> None:
    """Alice does not know her community. "I am not sure" on the first area question, and
    again after opening Guangminglu and going back, sends her requests to the district's
    elderly group (the config's volunteers group), not to the Guangminglu groups; the
    summary and the card name no community."""
    station = await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01",
                                GUANGMINGLU_01)
    institute = await bound_group(town, "Guangminglu volunteers", "elderly guangminglu",
                                  GUANGMINGLU)
    alice = town.citizen

    await start_request(alice, ELDERLY, "Someone should check on my neighbour.")
    institutes = await type_address(alice)
    assert len(institutes.buttons) == 12 and institutes.buttons[-1] == "I am not sure"
    await alice.press("I am not sure", message=institutes)
    await alice.wait_for(text="How can the volunteer reach you")
    await alice.tap("📞 Share my phone number")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "🏘" not in summary.text
    await alice.press("✅ Confirm and send", message=summary)
    first = REF.search((await alice.wait_for(text="Reference number")).text)
    assert first
    card = await card_of(town.volunteers, first.group(0))
    assert "address given" in card.text and "Guangminglu" not in card.text

    await start_request(alice, ELDERLY, "The corridor light is broken.")
    institutes = await type_address(alice)
    await alice.press(GUANGMINGLU, message=institutes)
    stations = await alice.wait_for(text=f"And which community in {GUANGMINGLU}?")
    assert stations.buttons[-3:] == [f"Somewhere in {GUANGMINGLU}", "◀ Back", "I am not sure"]
    await alice.press("◀ Back", message=stations)
    again = await alice.wait_for(text="Tap your subdistrict or town first")
    await alice.press("I am not sure", message=again)
    second = await send_request(alice)
    await card_of(town.volunteers, second)

    for ref in (first.group(0), second):
        assert mentions(station, ref) == [] and mentions(institute, ref) == []
    assert_clean(town)


async def test_a_forged_area_button_is_refused_and_the_form_goes_on(town: Town) -> None:
    """Someone edits the data of an area button: an unknown area, an unknown institute, or
    an empty institute. Each press gets the "no longer valid" popup, nothing breaks, and
    the real buttons still work."""
    alice = town.citizen
    await start_request(alice, ELDERLY, "The gate lock is broken.")
    institutes = await type_address(alice)
    draft = institutes.button_data[GUANGMINGLU].split(":")[1]
    for data in (f"in:{draft}:area:nowhere", f"in:{draft}:inst:nowhere", f"in:{draft}:inst:"):
        press = await alice.press_data(data, message=institutes)
        answer = await press.answer()
        assert answer.show_alert and "no longer valid" in (answer.text or ""), (data, answer)
    await alice.press(GUANGMINGLU, message=institutes)
    stations = await alice.wait_for(text=f"And which community in {GUANGMINGLU}?")
    await alice.press(GUANGMINGLU_02, message=stations)
    ref = await send_request(alice)
    assert mentions(alice.private, "something went wrong") == []
    assert GUANGMINGLU_02 in (await card_of(town.volunteers, ref)).text
    assert_clean(town)


async def test_changing_the_place_asks_for_the_community_again(town: Town) -> None:
    """Alice picked a Guangminglu community, then at the summary changes the place to a shared
    location elsewhere: she is asked the community again and the summary shows the new one."""
    alice = town.citizen
    await start_request(alice, ELDERLY, "Leaking tap")
    institutes = await type_address(alice)
    await alice.press("Guangminglu Subdistrict Practice Institute", message=institutes)
    stations = await alice.wait_for(text="And which community in")
    await alice.press("Guangminglu Community 1 Practice Station", message=stations)
    await alice.wait_for(text="How can the volunteer reach you")
    await alice.tap("Skip")
    await alice.wait_for(text="Is everything correct?")
    await alice.press("✏️ Edit")
    await alice.wait_for(text="What would you like to change?")
    await alice.press("Place")
    await alice.wait_for(text="Where is it")
    await alice.tap("📍 Share my location", latitude=34.87173, longitude=117.55744)
    offer = await alice.wait_for(text="nearest to the place you shared")
    assert offer.buttons[0] == "Zhongxinjie Community 1 Practice Station"
    await alice.press("Zhongxinjie Community 1 Practice Station", message=offer)
    summary = await alice.wait_for(text="Is everything correct?")
    assert "Zhongxinjie Community 1" in summary.text
    assert "Guangminglu Community 1" not in summary.text
