"""Short dialogs kept like the long ones, end to end: a unit's Rectified half sent (its after
photos), a more-time request, a Done note, writing in a masked chat each lie under whatever
dialog comes in their middle (another short one, or a long one such as /publish) and come back
with a "Back to …" line and their question again; nothing typed vanishes for having begun
something else. A long dialog under a short one comes back after it too.

The town: the example area tree and registers, and the activities' teams (Li leads the Red
Vest Team of Guangminglu and may publish). Li also acts for the Guangminglu Subdistrict
Office; Zhang inspects for G1. The clock starts on Wednesday 10 June 2026, 10:00 in Shanghai.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimMessage
from tests.conftest import Town
from tests.flows import card_of, claim, open_bot, supervision_town
from tests.test_activities_e2e import PLACE, TEAMS, TITLE
from tests.test_casework_e2e import file_at
from tests.test_supervision_dispatch_e2e import press, problem, report

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example registers and areas, the themes, and the teams file Li leads in."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {**supervision_town(tmp_path), "activities": {"themes_file": "themes.toml"},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


async def office_with_li(town: Town) -> None:
    """Zhang inspects for G1; the Guangminglu office's chat is bound, Li acts for it."""
    admin, li, zhang = town.admin, town.vol1, town.vol2
    await open_bot(admin, li, zhang)
    await admin.send(f"/inspector add {zhang.id} G1")
    await admin.wait_for(text="Zhang now inspects for G1")
    office = town.sb.add_group("光明路街道办")
    office.add_member(admin, status="administrator")
    office.add_member(li)
    await admin.send("/bind unit guangminglu-office", chat=office)
    await office.wait_for(text="now the chat of Guangminglu Subdistrict Office")
    await admin.send(f"/unitmember add guangminglu-office {li.id}")
    await admin.wait_for(text="Li now acts for")


async def received(town: Town, *, point: str = "alley-01") -> tuple[str, SimMessage]:
    """A problem reported at a point of the office and received by Li on his own copy; its
    reference and that copy (with Rectified, Need more time, Not ours)."""
    li = town.vol1
    ref = await report(town, town.vol2, point=point)
    copy = await li.wait_for(text=ref, predicate=lambda m: "✅ Received" in m.buttons)
    await press(li, "✅ Received", copy)
    await town.sb.wait_until(lambda: "🔧 Rectified" in (li.private.get(copy.message_id)
                                                         or copy).buttons)
    return ref, li.private.get(copy.message_id) or copy


async def test_after_photos_half_sent_come_back_after_a_request_for_more_time(
    town: Town,
) -> None:
    """Li has sent one after photo for the first problem when he asks for more time on a
    second: once that request has gone to the admins he is back at the first problem's
    Rectified, told his photo is kept, and his note sends it for re-check with that photo."""
    li = town.vol1
    await office_with_li(town)
    first, first_copy = await received(town)
    second, second_copy = await received(town, point="community-guangminglu-01")

    await press(li, "🔧 Rectified", first_copy)
    await li.wait_for(text=f"Problem {first}: send the after photo")
    await li.send_photo()
    await li.wait_for(text="After photo 1 kept")

    await press(li, "⏳ Need more time", second_copy)
    await li.wait_for(text="why do you need more time")
    await li.send("The stall owners need notice")
    await li.wait_for(text="Until when?")
    await li.send("6-15 18:00")
    await li.wait_for(text="went to the admins")
    await li.wait_for(text="Back to what you were doing before")
    await li.wait_for(text=f"Problem {first}: send the after photo")
    await li.wait_for(text="After photo 1 kept")

    await li.send("Stalls moved away")
    await li.wait_for(text="goes to the inspector for re-check")
    rectified = await problem(town, first)
    assert rectified.status == "rectified" and len(rectified.after_photos) == 1
    assert (await problem(town, second)).status == "received"


async def test_an_activity_half_published_comes_back_after_a_rectification(
    town: Town,
) -> None:
    """Li has typed the title and the place of an activity when his office's problem is
    rectified: he presses Rectified, sends an after photo and a note, and is back at
    publishing with the map point asked again."""
    li = town.vol1
    await office_with_li(town)
    ref, copy = await received(town)
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    await li.wait_for(text="5/12")

    await press(li, "🔧 Rectified", copy)
    await li.wait_for(text="send the after photo")
    await li.send_photo()
    await li.wait_for(text="After photo 1 kept")
    await li.send("Stalls moved away")
    await li.wait_for(text="goes to the inspector for re-check")
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="5/12")
    assert (await problem(town, ref)).status == "rectified"


async def test_after_photos_half_sent_come_back_after_a_chat_with_the_volunteer(
    town: Town,
) -> None:
    """Li, who acts for the office, has a request of his own taken by Zhang. He has sent one
    after photo for the office's problem when he presses Message the volunteer and writes to
    Zhang; once he ends that chat he is back at Rectified, his photo kept, and his note sends
    the problem for re-check with it."""
    li, zhang = town.vol1, town.vol2
    await office_with_li(town)
    mine = await file_at(li, "Guangminglu Subdistrict Institute",
                         "Guangminglu Community 1 Station", "The lift of our building stops.")
    await claim(zhang, town.volunteers, await card_of(town.volunteers, mine))
    taken = await li.wait_for(text="a volunteer has taken your request")
    ref, copy = await received(town)
    await press(li, "🔧 Rectified", copy)
    await li.send_photo()
    await li.wait_for(text="After photo 1 kept")

    await (await li.press("💬 Message the volunteer", message=taken)).answer()
    writing = await li.wait_for(text="What you send now goes to the volunteer")
    await li.send("Please come after 3 pm.")
    await zhang.wait_for(text="Please come after 3 pm.")
    await (await li.press("🔚 End chat", message=writing)).answer()
    confirm = await li.wait_for(text="End the chat on request")
    await (await li.press("Yes, end the chat", message=confirm)).answer()
    await li.wait_for(text="has ended.")
    await li.wait_for(text="Back to what you were doing before")
    await li.wait_for(text=f"Problem {ref}: send the after photo")
    await li.wait_for(text="After photo 1 kept")

    await li.send("Stalls moved away")
    await li.wait_for(text="goes to the inspector for re-check")
    rectified = await problem(town, ref)
    assert rectified.status == "rectified" and len(rectified.after_photos) == 1


async def test_after_photos_half_sent_come_back_after_a_request_form_given_up(
    town: Town,
) -> None:
    """Li has sent one after photo when he opens a request form with /new, then gives it up
    with /cancel: he is back at Rectified with his photo kept (/new no longer drops it)."""
    li = town.vol1
    await office_with_li(town)
    ref, copy = await received(town)
    await press(li, "🔧 Rectified", copy)
    await li.send_photo()
    await li.wait_for(text="After photo 1 kept")

    await li.send("/new")
    await li.press("✅ I agree, continue", message=await li.wait_for(text="Before you start"))
    await li.wait_for(text="What kind of help")
    await li.send("/cancel")
    await li.wait_for(text="Back to what you were doing before")
    await li.wait_for(text=f"Problem {ref}: send the after photo")
    await li.wait_for(text="After photo 1 kept")
    await li.send("Stalls moved away")
    await li.wait_for(text="goes to the inspector for re-check")
    assert len((await problem(town, ref)).after_photos) == 1


async def test_an_activity_half_published_comes_back_after_a_done_note(town: Town) -> None:
    """Li has typed an activity's title and place when he finishes the request he took: his
    note taken, the request is done and he is back at publishing, asked for the map point."""
    li = town.vol1
    await open_bot(li)
    ref = await file_at(town.citizen, "Guangminglu Subdistrict Institute",
                        "Guangminglu Community 1 Station", "The lift of our building stops.")
    await claim(li, town.volunteers, await card_of(town.volunteers, ref))
    details = await li.wait_for(text=f"You took {ref}")
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    await li.wait_for(text="5/12")

    await li.press("✅ Done", message=details)
    await li.wait_for(text=f"Finishing {ref}")
    await li.send("Called the lift company; fixed.")
    await li.wait_for(text=f"{ref} is marked done")
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="5/12")


# -- a question that comes back says what it is about ---------------------------------------------


async def test_a_request_for_more_time_back_at_its_date_names_its_problem(town: Town) -> None:
    """Li has said why he needs more time on the first problem and is asked until when, when
    he presses Rectified on a second and gives it up: the date question that comes back names
    the first problem, and his date sends that request to the admins."""
    li = town.vol1
    await office_with_li(town)
    first, first_copy = await received(town)
    second, second_copy = await received(town, point="community-guangminglu-01")
    await press(li, "⏳ Need more time", first_copy)
    await li.wait_for(text="why do you need more time")
    await li.send("The stall owners need notice")
    await li.wait_for(text="Until when?")

    await press(li, "🔧 Rectified", second_copy)
    await li.wait_for(text=f"Problem {second}: send the after photo")
    await li.send("/cancel")
    await li.wait_for(text="Back to what you were doing before")
    await li.wait_for(text=f"Problem {first}. Until when?")
    await li.send("6-15 18:00")
    await li.wait_for(text=f"request for more time on {first}")



async def test_rectified_pressed_again_keeps_the_after_photos_sent(town: Town) -> None:
    """Li has sent one after photo when he opens a request form, and then presses Rectified on
    the same problem's card again: he is asked for the after photos with the one he sent kept,
    sends a second and his note, and the problem goes for re-check with both; his request form
    comes back after it."""
    li = town.vol1
    await office_with_li(town)
    ref, copy = await received(town)
    await press(li, "🔧 Rectified", copy)
    await li.wait_for(text=f"Problem {ref}: send the after photo")
    await li.send_photo()
    await li.wait_for(text="After photo 1 kept")
    await li.send("/new")
    await li.press("✅ I agree, continue", message=await li.wait_for(text="Before you start"))
    await li.wait_for(text="What kind of help")

    await press(li, "🔧 Rectified", copy)
    await li.wait_for(text=f"Problem {ref}: send the after photo")
    await li.wait_for(text="After photo 1 kept")
    await li.send_photo()
    await li.wait_for(text="After photo 2 kept")
    await li.send("Stalls moved away")
    await li.wait_for(text="goes to the inspector for re-check")
    await li.wait_for(text="back to your unfinished request")
    assert len((await problem(town, ref)).after_photos) == 2
