"""Forum supergroups: one group with a topic per category or team. A command typed in a topic
is answered in that topic; /bind typed in a topic binds the category to it, so its cards are
posted there; a topic deleted since makes its cards go to the General topic, and the admins
hear once that the binding's topic is gone."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import SimChat
from tests.conftest import Town
from tests.flows import card_of, claim, file_request, open_bot

LISTING = "Volunteer groups"
ELDERLY = "Help for the elderly"
GONE = "is gone"


async def forum_of_teams(town: Town) -> tuple[SimChat, int, int]:
    """A forum where the admin has opened an "Elderly help" and a "Repairs" topic."""
    forum = town.sb.add_group("District teams", forum=True)
    forum.add_member(town.admin, status="administrator")
    forum.add_member(town.vol1)
    await open_bot(town.vol1)
    elderly = forum.create_topic("Elderly help", by=town.admin)
    repairs = forum.create_topic("Repairs", by=town.admin)
    return forum, elderly, repairs


async def test_a_command_typed_in_a_topic_is_answered_in_that_topic(town: Town) -> None:
    """The admin asks /bindings in the Repairs topic and reads the answer there, not in the
    General topic where nobody of the team looks; asked in General, it is answered in
    General, also when asked in a reply there (which Telegram puts in the thread of the
    message it answers, not in a topic). Li types /new in the Elderly help topic: the
    pointer to the private chat comes in that topic. An admin writing as the group in
    Repairs is told why in Repairs."""
    forum, elderly, repairs = await forum_of_teams(town)
    await town.admin.send("/bindings", chat=forum, topic=repairs)
    assert (await forum.wait_for(text=LISTING)).thread_id == repairs

    await town.admin.send("/bindings", chat=forum)
    in_general = await forum.wait_for(text=LISTING)
    assert in_general.thread_id is None

    # A reply in General belongs to the thread of what it answers, but to no topic.
    await town.admin.send("/bindings", chat=forum, reply_to=in_general)
    assert (await forum.wait_for(text=LISTING)).thread_id is None
    assert not [error for _, error in town.sb.errors if "thread not found" in error.lower()]

    await town.vol1.send("/new", chat=forum, topic=elderly)
    pointer = await forum.wait_for(text="Please talk to me in a private chat")
    assert pointer.thread_id == elderly

    await town.admin.send_as_group("/stats", chat=forum, topic=repairs)
    told = await forum.wait_for(text="Remain anonymous")
    assert told.thread_id == repairs


async def test_bind_in_a_topic_posts_the_categorys_cards_in_that_topic(town: Town) -> None:
    """The admin types /bind elderly in the Elderly help topic and reads, there, that the
    topic now receives the category's requests. Alice's request comes as a card in that topic,
    not in General; Li claims it there and the card, edited, stays in the topic. /bindings in
    the admin chat names the group and its topic; bound again in General, the topic is gone
    from the binding and the next card is posted in General."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    bound = await forum.wait_for(text="now receives requests")
    assert bound.thread_id == elderly
    assert bound.text == (f"✅ The topic “Elderly help” of this group now receives requests "
                          f"for {ELDERLY} in the whole district.")

    ref = await file_request(town.citizen)
    card = await card_of(forum, ref)
    assert card.thread_id == elderly
    assert "Claimed by" not in (card.text or "")
    assert (await claim(town.vol1, forum, card)).startswith("It is yours")
    await town.sb.wait_until(lambda: card.edits >= 1)
    assert forum.get(card.message_id) is card and card.thread_id == elderly
    assert not town.volunteers.bot_messages(), "the config's group is not the binding"

    await town.admin.send("/bindings", chat=town.admin_chat)
    listing = await town.admin_chat.wait_for(text=LISTING)
    assert f"• {ELDERLY} · the whole district → District teams › Elderly help" in listing.text

    await town.admin.send("/bind elderly", chat=forum)
    assert (await forum.wait_for(text="This group now receives requests")).thread_id is None
    second = await card_of(forum, await file_request(town.citizen, text="The lift is stuck."))
    assert second.thread_id is None


async def test_a_card_for_a_deleted_topic_goes_to_general_and_the_admins_hear_once(
    town: Town,
) -> None:
    """Someone deletes the Elderly help topic the category is bound to. Alice's next request:
    Telegram refuses its card there ("message thread not found"), so it is posted in the
    group's General topic instead, and the admin chat is told that the binding's topic is
    gone. Her request after that goes straight to General, and nobody is told again;
    /bindings shows the group without a topic."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    forum.delete_topic(elderly)

    ref = await file_request(town.citizen)
    card = await card_of(forum, ref)
    assert card.thread_id is None
    assert ("sendMessage", "message thread not found") in [
        (method, error.lower().removeprefix("bad request: ")) for method, error in town.sb.errors]
    told = await town.admin_chat.wait_for(text=GONE)
    assert told.text == (f"⚠️ The topic “Elderly help” of District teams is gone, so the "
                         f"cards for {ELDERLY} (the whole district) are posted in its General "
                         f"topic now. To give them a topic again, type /bind in it.")
    # The card posted instead works as any other.
    assert (await claim(town.vol1, forum, card)).startswith("It is yours")
    await town.sb.wait_until(lambda: card.edits >= 1)

    again = await card_of(forum, await file_request(town.citizen, text="The lift is stuck."))
    assert again.thread_id is None
    await town.admin.send("/bindings", chat=town.admin_chat)
    listing = await town.admin_chat.wait_for(text=LISTING)  # after anything queued before it
    assert f"• {ELDERLY} · the whole district → District teams\n" in listing.text + "\n"
    assert "Elderly help" not in listing.text
    assert not [m for m in town.admin_chat.bot_messages() if GONE in (m.text or "")
                and m is not told], "told once"


async def test_a_card_deleted_from_its_topic_comes_back_in_that_topic(town: Town) -> None:
    """Li claims Alice's request on its card in the Elderly help topic; the admin tidies the
    claimed card away. Li releases it: the card cannot be redrawn, so it is posted again,
    waiting with Claim, and in the Elderly help topic, where the team looks, not in General."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    ref = await file_request(town.citizen)
    card = await card_of(forum, ref)
    assert (await claim(town.vol1, forum, card)).startswith("It is yours")
    details = await town.vol1.wait_for(text=ref, predicate=lambda m: "↩️ Release" in m.buttons)
    await town.sb.wait_until(lambda: "claimed by Li" in (card.text or ""))
    forum.delete(card, by=town.admin)

    await town.vol1.press("↩️ Release", message=details)
    again = await forum.wait_for(text=ref)
    assert again is not card and "🙋 Claim" in again.buttons
    assert again.thread_id == elderly


async def test_a_command_that_fails_in_a_topic_posts_nothing_in_general(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The admin's /bindings in the Repairs topic hits a bug. The error handler says
    "something went wrong" in private chats (and as a press's alert) only: nothing comes to
    the forum, neither to General nor to the topic, and the admin's next command there is
    answered in the topic as ever."""
    forum, _, repairs = await forum_of_teams(town)
    services = town.bot.services
    assert services is not None

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in /bindings")

    monkeypatch.setattr(services.loop, "list_bindings", broken)
    await town.admin.send("/bindings", chat=forum, topic=repairs)
    await town.admin.send("/theme", chat=forum, topic=repairs)
    theme = await forum.wait_for(text="No theme has been set")  # after what the bug left
    assert theme.thread_id == repairs
    assert forum.bot_messages() == [theme]
    assert not [m for m in town.admin.private.bot_messages()
                if "something went wrong" in (m.text or "")]


async def test_the_claim_reminder_comes_under_the_card_in_its_topic(town: Town) -> None:
    """Nobody has claimed Alice's request half an hour after its card came to the Elderly
    help topic: the reminder, with Claim, comes in that topic, under the card."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    ref = await file_request(town.citizen)
    card = await card_of(forum, ref)
    await town.tick(minutes=31)
    reminder = await forum.wait_for(text="Still waiting")
    assert reminder.thread_id == elderly and ref in (reminder.text or "")
    assert reminder.raw["reply_to_message"]["message_id"] == card.message_id


async def test_a_category_moved_from_general_to_a_topic_says_its_open_cards_stay(
    town: Town,
) -> None:
    """Elderly help, first bound in its topic while it had no card, is bound in the forum's
    General (nothing to say of cards staying): one request waits there and Li has
    claimed another. The admin then binds it in the Elderly help topic: the answer says the
    two open cards stay where they are, kept up to date there, and only new ones come to the
    topic. The waiting card is still claimed in General, edited where it is; the next
    request's card is in the topic. Bound back in General, the answer counts only the card
    in the topic: the two in General are where new ones come now; bound there once more,
    it moves nothing and says so by saying nothing of them."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    await town.admin.send("/bind elderly", chat=forum)  # moved, but no card to stay behind
    general = await forum.wait_for(text="This group now receives requests")
    assert general.text is not None and "stay where they are" not in general.text, general.text
    waiting = await card_of(forum, await file_request(town.citizen))
    taken = await card_of(forum, await file_request(town.citizen, text="The lift is stuck."))
    assert (await claim(town.vol1, forum, taken)).startswith("It is yours")
    assert waiting.thread_id is None and taken.thread_id is None

    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    bound = await forum.wait_for(text="now receives requests")
    assert bound.thread_id == elderly
    assert bound.text == (
        f"✅ The topic “Elderly help” of this group now receives requests for {ELDERLY} in "
        f"the whole district.\n2 open card(s) already posted in this group stay where they "
        f"are and are kept up to date there; only new ones come here.")
    assert (await claim(town.vol1, forum, waiting)).startswith("It is yours")
    await town.sb.wait_until(lambda: waiting.edits >= 1)
    assert forum.get(waiting.message_id) is waiting and waiting.thread_id is None
    third = await card_of(forum, await file_request(town.citizen, text="No hot water."))
    assert third.thread_id == elderly

    await town.admin.send("/bind elderly", chat=forum)
    back = await forum.wait_for(text="This group now receives requests")
    assert back.text is not None and back.text.endswith(
        "\n1 open card(s) already posted in this group stay where they are and are kept up "
        "to date there; only new ones come here."), back.text

    # Bound again where it is, nothing moves: the answer says nothing of cards staying.
    await town.admin.send("/bind elderly", chat=forum)
    again = await forum.wait_for(text="This group now receives requests")
    assert again.text is not None and "stay where they are" not in again.text, again.text

async def test_the_claim_reminder_comes_beside_a_card_left_in_general_by_a_rebind(
    town: Town,
) -> None:
    """Elderly help is bound in the forum's General and Alice's request waits there when the
    admin binds it in the Elderly help topic. Half an hour on, nobody has claimed it: the
    reminder comes under its card, in General, where the card stayed, not in the topic."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum)
    await forum.wait_for(text="This group now receives requests")
    ref = await file_request(town.citizen)
    card = await card_of(forum, ref)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests", predicate=lambda m: m.thread_id == elderly)

    await town.tick(minutes=31)
    reminder = await forum.wait_for(text="Still waiting")
    assert reminder.thread_id is None and ref in (reminder.text or "")
    assert reminder.raw["reply_to_message"]["message_id"] == card.message_id


async def test_a_deleted_card_comes_back_in_the_topic_it_was_in_after_a_rebind(
    town: Town,
) -> None:
    """Li claims Alice's request on its card in the Elderly help topic; the admin binds
    elderly help in General, then tidies the claimed card away. Li releases the request: its
    card comes back, with Claim, in the Elderly help topic, where it was, not in General."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    ref = await file_request(town.citizen)
    card = await card_of(forum, ref)
    assert (await claim(town.vol1, forum, card)).startswith("It is yours")
    details = await town.vol1.wait_for(text=ref, predicate=lambda m: "↩️ Release" in m.buttons)
    await town.sb.wait_until(lambda: "claimed by Li" in (card.text or ""))
    await town.admin.send("/bind elderly", chat=forum)
    await forum.wait_for(text="This group now receives requests")
    forum.delete(card, by=town.admin)

    await town.vol1.press("↩️ Release", message=details)
    again = await forum.wait_for(text=ref, predicate=lambda m: m is not card)
    assert "🙋 Claim" in again.buttons
    assert again.thread_id == elderly


async def test_the_claim_reminder_for_a_card_deleted_from_its_topic_still_comes_there(
    town: Town,
) -> None:
    """The admin tidies away the card of Alice's request in the Elderly help topic before
    anyone claims it. Half an hour on, the reminder has no card to answer: Telegram refuses a
    reply in a topic to a message that is gone, so it comes in the topic without the quote,
    with its Claim button, not lost and not in General."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    ref = await file_request(town.citizen)
    card = await card_of(forum, ref)
    forum.delete(card, by=town.admin)

    await town.tick(minutes=31)
    reminder = await forum.wait_for(text="Still waiting")
    assert reminder.thread_id == elderly and ref in (reminder.text or "")
    assert "🙋 Claim" in reminder.buttons
    assert reminder.raw["reply_to_message"]["message_id"] == elderly  # the topic's own first


async def test_a_card_for_a_closed_topic_goes_to_general_and_the_admins_hear_once(
    town: Town,
) -> None:
    """The admin closes the Elderly help topic the category is bound to. Telegram refuses
    the bot's card there (TOPIC_CLOSED: the bot may not manage topics), so Alice's request is
    posted in the group's General topic, and the admin chat is told, once, that the topic is
    closed and how to give the cards a topic again; her next request goes straight to
    General."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    forum.close_topic(elderly, by=town.admin)

    card = await card_of(forum, await file_request(town.citizen))
    assert card.thread_id is None
    told = await town.admin_chat.wait_for(text="is closed")
    assert told.text == (f"⚠️ The topic “Elderly help” of District teams is closed, so the "
                         f"cards for {ELDERLY} (the whole district) are posted in its General "
                         f"topic now. To give them a topic again, reopen it (or choose "
                         f"another) and type /bind in it.")
    assert (await claim(town.vol1, forum, card)).startswith("It is yours")

    again = await card_of(forum, await file_request(town.citizen, text="The lift is stuck."))
    assert again.thread_id is None
    assert not [m for m in town.admin_chat.bot_messages() if "is closed" in (m.text or "")
                and m is not told], "told once"


async def test_bindings_follow_a_topic_renamed_and_know_a_topic_bound_by_a_reply(
    town: Town,
) -> None:
    """Elderly help is bound in its topic; an admin renames the topic "Elders' corner" in the
    client, and /bindings names the new name. The admin then opens a "Lifts" topic and types
    /bind environment there as a reply to Li's message (so the message does not answer the topic's
    first one, which names it): the bot knows the name from the topic's creation, and both
    its answer and /bindings name "Lifts", not a number."""
    forum, elderly, _ = await forum_of_teams(town)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    forum.rename_topic(elderly, "Elders' corner", by=town.admin)
    await town.admin.send("/bindings", chat=town.admin_chat)
    listing = await town.admin_chat.wait_for(text=LISTING)
    assert f"• {ELDERLY} · the whole district → District teams › Elders' corner" in listing.text

    lifts = forum.create_topic("Lifts", by=town.admin)
    asked = await town.vol1.send("Who fixes the lift?", chat=forum, topic=lifts)
    await town.admin.send("/bind environment", chat=forum, topic=lifts, reply_to=asked)
    bound = await forum.wait_for(text="now receives requests")
    assert bound.thread_id == lifts and "“Lifts”" in (bound.text or ""), bound.text
    await town.admin.send("/bindings", chat=town.admin_chat)
    listing = await town.admin_chat.wait_for(text=LISTING)
    assert "→ District teams › Lifts" in listing.text, listing.text


async def test_a_card_its_topic_refuses_goes_to_the_admins_general_not_a_topic_of_theirs(
    town: Town,
) -> None:
    """The admins' own group has topics too, with one of its own. Telegram refuses the card
    of Alice's request in the Elderly help topic outright (the bot was removed from the forum
    just then, its news not yet in): the card the admins get instead comes to their General,
    not to a topic of their chat named by the volunteers' topic's number, and Telegram was
    never asked for that thread there."""
    forum, elderly, _ = await forum_of_teams(town)
    town.admin_chat.is_forum = True  # an admin turned topics on
    while town.admin_chat.create_topic("Reports", by=town.admin) < elderly:
        pass  # a topic of theirs with the same number as the volunteers' Elderly help
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    forum.bot_status = "kicked"  # no my_chat_member yet: the bot learns by the refusal

    ref = await file_request(town.citizen)
    card = await town.admin_chat.wait_for(text=ref, predicate=lambda m: "🙋 Claim" in m.buttons)
    assert card.thread_id is None
    assert not [error for _, error in town.sb.errors if "thread" in error.lower()], town.sb.errors

