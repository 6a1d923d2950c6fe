"""Admin commands typed in a group by someone who is no admin: the group stays quiet (its
20 messages a minute are for cards), and they hear why in private, once."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import Town
from tests.flows import card_of, file_request, open_bot

ANONYMOUS_BOT = 1087968824  # GroupAnonymousBot, Telegram's sender of what a group posts


async def test_a_volunteer_spamming_stats_in_the_group_delays_no_card(town: Town) -> None:
    """Li, no admin, types /stats twenty times and a few other admin commands in the
    volunteers' group. The bot posts nothing there, tells Li once in private, and Alice's
    request card still reaches the group at once."""
    li, group = town.vol1, town.volunteers
    await open_bot(li)
    before = len(group.bot_messages())
    for _ in range(20):
        await li.send("/stats", chat=group)
    for command in ("/export", "/find 2026-000001", "/ban 1 spam", "/grant 1 x"):
        await li.send(command, chat=group)
    told = await li.wait_for(text="Only admins can use /stats")
    assert told.chat is li.private
    ref = await file_request(town.citizen)
    card = await card_of(group, ref)
    assert [m for m in group.bot_messages()[before:] if m is not card] == []
    assert len([m for m in li.private.bot_messages() if "Only admins" in (m.text or "")]) == 1


async def test_an_admin_still_gets_stats_in_the_group(town: Town) -> None:
    await town.admin.send("/stats", chat=town.volunteers)
    reply = await town.volunteers.wait_for(text="Statistics")
    assert reply.chat is town.volunteers


async def test_someone_who_never_opened_the_bot_is_not_written_to(town: Town) -> None:
    """Zhang never pressed Start: Telegram would refuse a private message, so he gets none,
    and the group none either."""
    zhang, group = town.vol2, town.volunteers
    before = len(group.bot_messages())
    await zhang.send("/stats", chat=group)
    await town.admin.send("/stats", chat=group)  # a later answer shows the first was seen
    await group.wait_for(text="Statistics")
    assert len(group.bot_messages()) == before + 1
    assert not zhang.private.bot_messages()


async def test_an_anonymous_admin_is_told_to_write_as_themselves(town: Town) -> None:
    """The admin posts as the admin chat itself ("Remain anonymous"): Telegram does not say
    who sent /stats, so it is not run. The chat hears why, once in ten minutes however often
    it is tried; nobody is written to in private. /theme, the same for whoever asks, is
    answered; and from the admin's own account /stats works."""
    admin, chat = town.admin, town.admin_chat
    await admin.send_as_group("/stats", chat=chat)
    told = await chat.wait_for(text="You are writing as the group")
    assert "/stats" in told.text and "Remain anonymous" in told.text
    await admin.send_as_group("/ban 1004 spam", chat=chat)
    await admin.send_as_group("/theme", chat=chat)
    await chat.wait_for(text="theme")
    await admin.send("/stats", chat=chat)
    await chat.wait_for(text="Statistics")
    assert len([m for m in chat.bot_messages() if "writing as the group" in (m.text or "")]) == 1
    assert not admin.private.bot_messages()
    assert not [c for c in town.sb.calls_to("sendMessage")
                if str(c[1]["chat_id"]) == "1087968824"]
    assert "Statistics" not in told.text


async def test_an_anonymous_admins_theme_and_ranking_are_answered_without_recording_anyone(
    town: Town,
) -> None:
    """The admin, writing as the admin chat, asks for the month's theme and the ranking:
    both are answered in the chat, and Telegram's anonymous group bot, which Telegram names
    as their sender, is not recorded as a person (it would be counted, listed and found as
    one). /ranking hide, which is about whoever asks, is explained as /stats is, and
    nobody's name is hidden."""
    admin, chat = town.admin, town.admin_chat
    await admin.send_as_group("/theme", chat=chat)
    await chat.wait_for(text="theme")
    await admin.send_as_group("/ranking", chat=chat)
    await chat.wait_for(text="No verified hours in June 2026 yet.")
    await admin.send_as_group("/ranking hide", chat=chat)
    told = await chat.wait_for(text="You are writing as the group")
    assert "/ranking" in (told.text or "")
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        people = [row[0] for row in db.execute("SELECT user_id FROM users")]
        hidden = db.execute("SELECT user_id FROM ranking_names").fetchall()
    assert ANONYMOUS_BOT not in people, people
    assert hidden == []


@pytest.mark.parametrize(("forwarded", "account"), [(False, 136817688), (True, 777000)],
                         ids=["posted as the channel", "forwarded from the channel"])
async def test_a_channels_post_in_the_group_is_answered_without_recording_telegrams_account(
    town: Town, forwarded: bool, account: int,
) -> None:
    """The district's news channel is linked to the volunteers' group. A post asking for the
    month's theme comes into the group as the channel itself (Telegram names Channel_Bot as
    its sender), or as the channel's post forwarded there (Telegram names itself, 777000):
    it is answered in the group, and neither account is recorded as a person (it would be
    counted, listed and found as one). /stats, which depends on who asks, is explained."""
    group = town.volunteers
    group.add_member(town.admin, status="administrator")
    await town.admin.send_as_channel("/theme", chat=group, channel="街道新闻",
                                     forwarded=forwarded)
    await group.wait_for(text="theme")
    await town.admin.send_as_channel("/stats", chat=group, channel="街道新闻",
                                     forwarded=forwarded)
    await group.wait_for(text="You are writing as the group")
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        people = [row[0] for row in db.execute("SELECT user_id FROM users")]
    assert account not in people, people


async def test_an_anonymous_admin_is_told_the_command_and_a_general_word_is_answered(
    town: Town,
) -> None:
    """Writing as the admin chat, the admin asks for the year's figures: the explanation names
    /stats, the command, not the whole text they typed. Then /theme with a month, a word
    that is about no one in particular, is answered like /theme, not explained."""
    admin, chat = town.admin, town.admin_chat
    await admin.send_as_group("/stats 2026", chat=chat)
    told = await chat.wait_for(text="You are writing as the group")
    assert "/stats" in (told.text or "") and "2026" not in (told.text or "")
    await admin.send_as_group("/theme 2026-07", chat=chat)
    await chat.wait_for(text="🗓")


async def test_ranking_hide_in_capitals_sent_as_the_group_is_not_run(town: Town) -> None:
    """The admin, writing as the admin chat, types /ranking HIDE in capitals: it is about
    whoever asks however it is written, so it is explained, and nobody's name is hidden."""
    admin, chat = town.admin, town.admin_chat
    await admin.send_as_group("/ranking HIDE", chat=chat)
    told = await chat.wait_for(text="You are writing as the group")
    assert "/ranking" in (told.text or "")
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        hidden = db.execute("SELECT user_id FROM ranking_names").fetchall()
    assert hidden == []
