"""An activity's recruitment card someone deleted from a group, end to end: the next change
posts it again there while it takes sign-ups, and not once sign-up is closed.

The activities' town (tests/test_activities_e2e.py: Li leads the Red Vest Team, whose own
group gets its cards as well as the volunteers' group). A call's roster: tests/test_calls_e2e.py.
"""

from __future__ import annotations

from sandbox import SimMessage
from tests.conftest import Town
from tests.flows import open_bot
from tests.test_activities_e2e import TITLE, buttons_of, card_now, published_card
from tests.test_activities_e2e import town_settings as town_settings  # themes and teams
from tests.test_cards_posted_again_e2e import GONE, all_sent


def cards_in(town: Town) -> list[SimMessage]:
    """The activity's cards the volunteers' group shows."""
    return [m for m in town.volunteers.bot_messages() if TITLE in (m.text or "")]


async def test_an_activity_card_deleted_comes_back_while_sign_up_is_open(town: Town) -> None:
    """Li's activity is posted in the volunteers' group and in his team's own group. The admin
    deletes the card in the volunteers' group; Zhang signs up in the team's group: the
    volunteers' card cannot be redrawn, so it is posted again as it now stands, with Sign up
    and one place left, and the admin signs up there. The admin deletes it again and Li closes
    sign-up: a card with nothing to press is not posted again."""
    admin, leader, zhang = town.admin, town.vol1, town.vol2
    team = town.sb.add_group("Red Vest Team")
    for person in (admin, leader, zhang):
        team.add_member(person, status="administrator" if person is admin else "member")
    town.volunteers.add_member(admin, status="administrator")
    await open_bot(admin, leader, zhang)
    await admin.send("/bind team guangming-red", chat=team)
    await team.wait_for(text="now the group of Guangminglu Red Vest Team")
    card = await published_card(town, leader)
    theirs = await team.wait_for(text="Volunteers wanted")
    town.volunteers.delete(card, by=admin)

    await (await zhang.press("🙋 Sign up", message=theirs)).answer()
    await card_now(town, theirs, "1 left")
    again = await town.volunteers.wait_for(text=TITLE)
    assert "1 left" in (again.text or "") and buttons_of(again) == ["🙋 Sign up (1 left)"]
    assert GONE in town.sb.errors

    await (await admin.press("🙋 Sign up", message=again)).answer()
    await admin.wait_for(text="You are signed up for")
    await card_now(town, theirs, "Full (2)")
    await card_now(town, again, "Full (2)")  # redrawn where it was posted again
    assert cards_in(town) == [again]

    town.volunteers.delete(again, by=admin)
    await leader.press("🔒 Close sign-up")
    await leader.wait_for(text="is closed")
    await card_now(town, theirs, "Sign-up is closed.")
    await all_sent(town)
    assert cards_in(town) == []


async def publish_poster(town: Town) -> None:
    """The admin publishes "Lantern riddles" for the whole district, with a poster and thirty
    places."""
    admin = town.admin
    town.volunteers.add_member(admin, status="administrator")
    await open_bot(admin, town.vol1, town.vol2)
    await admin.send("/publish")
    await admin.wait_for(text="1/12")
    await admin.send("Lantern riddles for the elderly")
    await admin.wait_for(text="2/12")
    await admin.press("Guangminglu Red Vest Team")
    await admin.wait_for(text="3/12")
    await admin.press("🏙 The whole district")
    await admin.wait_for(text="4/12")
    await admin.send("Culture square")
    await admin.wait_for(text="5/12")
    await admin.press("Skip ⏭")
    await admin.wait_for(text="6/12")
    await admin.send("6-20 14:00")
    await admin.wait_for(text="7/12")
    await admin.send("16:00")
    await admin.wait_for(text="8/12")
    await admin.press("30")
    await admin.wait_for(text="9/12")
    await admin.send(f"{town.vol2.id}")
    await admin.wait_for(text="10/12")
    await admin.press("No theme")
    await admin.wait_for(text="11/12")
    await admin.send_photo()
    await admin.wait_for(text="12/12")
    await admin.send("Riddles, tea and sweets.")
    await admin.press("✅ Publish", message=await admin.wait_for(text="Preview"))


async def test_a_poster_card_deleted_comes_back_as_the_poster(town: Town) -> None:
    """The admin publishes an activity with a poster: its card is the poster with the card as
    its caption. The admin deletes it; Zhang signs up from his private chat (the card's own
    Sign up, pressed there): the card is posted again as the same poster, captioned as it now
    stands, and Li's sign-up on it redraws that caption (editMessageCaption, not Text)."""
    admin = town.admin
    await publish_poster(town)
    card = await town.volunteers.wait_for(predicate=lambda m: m.kind == "photo")
    poster = card.raw["photo"][-1]["file_id"]
    town.volunteers.delete(card, by=admin)

    await (await town.vol2.press_data(card.button_data["🙋 Sign up (30 left)"],
                                      message=card)).answer()  # as it was deleted
    await town.vol2.wait_for(text="You are signed up for")
    again = await town.volunteers.wait_for(text="Lantern riddles")
    assert again.kind == "photo" and again.raw["photo"][-1]["file_id"] == poster
    assert buttons_of(again) == ["🙋 Sign up (29 left)"]

    await (await town.vol1.press("🙋 Sign up", message=again)).answer()
    await card_now(town, again, "28 left")
    assert town.sb.errors == [("editMessageCaption", GONE[1])]


async def test_a_card_posted_twice_is_taken_on_when_its_lost_copy_is_pressed(
        town: Town) -> None:
    """Li's card reaches the volunteers' group but Telegram's answer is cut off, so the bot
    posts it again and knows only the second. Zhang signs up on the first: he is signed up,
    and that copy is taken on as a card of its own, redrawn with the other from then on
    (before, it offered Sign up with two places for ever, whatever became of the activity)."""
    await open_bot(town.vol1, town.vol2, town.admin)
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=town.volunteers.id)
    first = await published_card(town, town.vol1)
    second = await town.volunteers.wait_for(text="Volunteers wanted")
    assert first.message_id != second.message_id
    await (await town.vol2.press("🙋 Sign up", message=first)).answer()
    await town.vol2.wait_for(text="You are signed up for")
    for copy in (first, second):
        await card_now(town, copy, "1 left")
    await town.vol1.press("🔒 Close sign-up")
    await town.vol1.wait_for(text="is closed")
    for copy in (first, second):
        closed = await card_now(town, copy, "Sign-up is closed.")
        assert buttons_of(closed) == []


async def test_a_poster_cards_lost_copy_is_taken_on_as_a_poster(town: Town) -> None:
    """The poster reaches the volunteers' group but Telegram's answer is cut off, so the bot
    posts it again and knows only the second. Zhang signs up on the first, which is taken on
    as a card of its own: a poster, whose words are its caption, so Li's sign-up on the
    other redraws both captions (before, the copy was taken for a text card, and Telegram
    refused to edit a poster's text)."""
    await open_bot(town.vol1, town.vol2)
    town.sb.inject("sendPhoto", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=town.volunteers.id)
    await publish_poster(town)
    first = await town.volunteers.wait_for(predicate=lambda m: m.kind == "photo")
    second = await town.volunteers.wait_for(predicate=lambda m: m.kind == "photo")
    assert first.message_id != second.message_id
    await (await town.vol2.press("🙋 Sign up", message=first)).answer()
    await town.vol2.wait_for(text="You are signed up for")
    await (await town.vol1.press("🙋 Sign up", message=second)).answer()
    for copy in (first, second):
        await card_now(town, copy, "28 left")
    assert [error for error in town.sb.errors if error[0] != "sendPhoto"] == []  # cut off
