"""Forum supergroups, loop 2: /bind team <id> typed in a topic makes that topic the team's
place, so its activities' cards (and one posted again after someone deleted it), the
recruitment calls to the team and the announcements of its volunteers' honours are posted
there; a topic deleted since sends them to the General topic, and the admins hear once that
the team's topic is gone."""

from __future__ import annotations

from sandbox import SimChat
from tests.conftest import Town
from tests.flows import open_bot
from tests.test_activities_e2e import card_now, publish, published_card
from tests.test_activities_e2e import town_settings as town_settings  # the teams and themes
from tests.test_calls_e2e import approved, now_says, sent_call
from tests.test_honours_e2e import GUANGMING, register

TEAM = "Guangminglu Red Vest Team"


async def team_topic(town: Town) -> tuple[SimChat, int]:
    """A forum of teams where the admin typed /bind team guangming-red in the "Red vests"
    topic and read, there, that it is now the team's place."""
    forum = town.sb.add_group("District teams", forum=True)
    for person in (town.admin, town.vol1, town.vol2):
        forum.add_member(person, status="administrator" if person is town.admin else "member")
    await open_bot(town.admin, town.vol1, town.vol2)
    red = forum.create_topic("Red vests", by=town.admin)
    await town.admin.send("/bind team guangming-red", chat=forum, topic=red)
    bound = await forum.wait_for(text="now the place of")
    assert bound.thread_id == red
    assert bound.text == (f"✅ The topic “Red vests” of this group is now the place of {TEAM}: "
                          f"its activities are posted here.")
    return forum, red


async def test_a_teams_activity_is_posted_in_its_topic(town: Town) -> None:
    """Li, the team's leader, publishes an activity: its card comes to the Red vests topic,
    not General; Zhang signs up there and the card, edited, stays in the topic."""
    forum, red = await team_topic(town)
    await published_card(town, town.vol1)
    card = await forum.wait_for(text="Volunteers wanted")
    assert card.thread_id == red
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await card_now(town, card, "1 left")
    assert forum.get(card.message_id) is card and card.thread_id == red


async def test_a_teams_topic_deleted_its_next_card_goes_to_general(town: Town) -> None:
    """The Red vests topic is deleted. Li publishes: Telegram refuses the card there, so it is
    posted in General and the admins are told the team's topic is gone; Li's next activity
    goes to General at once, and nobody is told again."""
    forum, red = await team_topic(town)
    forum.delete_topic(red)
    await published_card(town, town.vol1)
    card = await forum.wait_for(text="Volunteers wanted")
    assert card.thread_id is None
    told = await town.admin_chat.wait_for(text="is gone")
    assert told.text == (f"⚠️ The topic “Red vests” of District teams is gone, so the cards "
                         f"for {TEAM} are posted in its General topic now. To give them a "
                         f"topic again, type /bind in it.")

    preview = await publish(town.vol1, start="2026-06-20 09:00")
    await town.vol1.press("✅ Publish", message=preview)
    again = await forum.wait_for(text="Volunteers wanted")
    assert again is not card and again.thread_id is None
    await town.admin.send("/bindings", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="Volunteer groups")  # after anything queued before
    assert [m for m in town.admin_chat.bot_messages() if "is gone" in (m.text or "")] == [told]


async def test_a_teams_card_deleted_from_its_topic_comes_back_in_that_topic(town: Town) -> None:
    """The admin tidies Li's activity card away from the Red vests topic; Zhang signs up on
    the volunteers' group's card: the topic's card cannot be redrawn, so it is posted again as
    it now stands, with one place left, in the Red vests topic, not General."""
    forum, red = await team_topic(town)
    card = await published_card(town, town.vol1)
    theirs = await forum.wait_for(text="Volunteers wanted")
    forum.delete(theirs, by=town.admin)

    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await card_now(town, card, "1 left")
    again = await forum.wait_for(text="Volunteers wanted", predicate=lambda m: m is not theirs)
    assert "1 left" in (again.text or "")
    assert again.thread_id == red


async def test_a_recruitment_call_to_the_team_is_posted_in_its_topic(town: Town) -> None:
    """The admin sends a call to the whole district and the Red Vest Team: its card comes to
    the Red vests topic (the volunteers' group has its own, in General); Li answers I'm in
    there, and the card, redrawn, stays in the topic."""
    forum, red = await team_topic(town)
    await approved(town, town.vol1)
    general = await sent_call(town, audience=(TEAM,))
    assert general.thread_id is None
    card = await forum.wait_for(text="Recruitment call #1")
    assert card.thread_id == red
    answer = await (await town.vol1.press("🙋 I'm in", message=card)).answer()
    assert answer.text == "You're in ✅"
    card = await now_says(town, card, "1 of 2 have answered")
    assert card.thread_id == red


async def test_a_call_open_when_the_teams_topic_is_bound_comes_to_that_topic(
    town: Town,
) -> None:
    """A call to the Red Vest Team goes out before the team has a place. The admin then types
    /bind team in the Red vests topic: the card of the call still open comes to that topic,
    not General."""
    await approved(town, town.vol1)
    await sent_call(town, audience=(TEAM,))
    forum, red = await team_topic(town)
    card = await forum.wait_for(text="Recruitment call #1")
    assert card.thread_id == red


async def test_an_honour_of_a_team_volunteer_is_announced_in_the_teams_topic(
    town: Town,
) -> None:
    """Zhang, admin of Guangminglu, honours Wang of the Red Vest Team and announces it: the
    announcement comes to the Red vests topic of the team's forum, not its General topic."""
    forum, red = await team_topic(town)
    zhang = town.vol2
    await register(town, 5001, "Wang", GUANGMING, "guangminglu-01")
    await town.admin.send(f"/grant {zhang.id} guangminglu")
    await zhang.wait_for(text="You are now an admin")
    await zhang.send("/honour 5001")
    await zhang.wait_for(text="1/3")
    await zhang.send("最美志愿者")
    await zhang.wait_for(text="2/3")
    await zhang.press("2026")
    await zhang.wait_for(text="3/3")
    await zhang.send("Visited 30 elderly people every week.")
    preview = await zhang.wait_for(text="Preview")
    await zhang.press("📣 Save and announce", message=preview)
    announced = await forum.wait_for(text="Wang — 最美志愿者 (2026)")
    assert announced.thread_id == red


async def test_a_call_to_two_teams_deleted_from_one_teams_topic_comes_back_there(
    town: Town,
) -> None:
    """The admin sends a call to the Golden Glow team and the Red Vest Team, in that order;
    only the Red Vest Team has a place, its topic. The admin tidies the call's card away from
    the topic; Li answers I'm in on the volunteers' group's card: the topic's card cannot be
    redrawn, so it is posted again, as it now stands, in the Red vests topic, not General."""
    forum, red = await team_topic(town)
    await approved(town, town.vol1)
    general = await sent_call(town, audience=("Golden Glow Elderly Care Team", TEAM))
    theirs = await forum.wait_for(text="Recruitment call #1")
    assert theirs.thread_id == red
    forum.delete(theirs, by=town.admin)

    await (await town.vol1.press("🙋 I'm in", message=general)).answer()
    await now_says(town, general, "1 of 2 have answered")
    again = await forum.wait_for(text="Recruitment call #1", predicate=lambda m: m is not theirs)
    assert "1 of 2 have answered" in (again.text or "")
    assert again.thread_id == red


async def test_an_activity_follows_its_areas_topic_in_a_forum_of_areas(town: Town) -> None:
    """The district's forum has a topic per subdistrict: the admin binds elderly help and
    living environment for Guangminglu in the "Guangminglu" topic. Li publishes an activity
    of the Red Vest Team, whose own group is not bound: its card comes to the Guangminglu
    topic, where the subdistrict's requests come, not to General. Another forum, of the
    Guangminglu 1 station, has a topic per category: no topic is the area's there, so its
    card comes to that forum's General, where all of them look."""
    await open_bot(town.admin, town.vol1, town.vol2)
    district = town.sb.add_group("District volunteers", forum=True)
    split = town.sb.add_group("Guangminglu by category", forum=True)
    for forum in (district, split):
        forum.add_member(town.admin, status="administrator")
        forum.add_member(town.vol2)
    area = district.create_topic("Guangminglu", by=town.admin)
    elderly = split.create_topic("Elderly help", by=town.admin)
    environment = split.create_topic("Living environment", by=town.admin)
    for command, forum, topic in (("/bind elderly guangminglu", district, area),
                                  ("/bind environment guangminglu", district, area),
                                  ("/bind elderly guangminglu-01", split, elderly),
                                  ("/bind environment guangminglu-01", split, environment)):
        await town.admin.send(command, chat=forum, topic=topic)
        await forum.wait_for(text="now receives requests")

    preview = await publish(town.vol1)
    await town.vol1.press("✅ Publish", message=preview)
    card = await district.wait_for(text="Volunteers wanted")
    assert card.thread_id == area
    other = await split.wait_for(text="Volunteers wanted")
    assert other.thread_id is None
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await card_now(town, card, "1 left")
    assert district.get(card.message_id) is card and card.thread_id == area



async def test_a_lost_copy_taken_on_in_its_topic_comes_back_there_when_deleted(
        town: Town) -> None:
    """The card reaches the Red vests topic but Telegram's answer is cut off, so the bot posts
    it again and knows only the second. Zhang signs up on the first, which is taken on as a
    card of its own; the admin then tidies that copy away and signs up on the other: it is
    posted again as it stands, in the Red vests topic where it was, not in General."""
    forum, red = await team_topic(town)
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=forum.id)
    await published_card(town, town.vol1)
    first = await forum.wait_for(text="Volunteers wanted")
    second = await forum.wait_for(text="Volunteers wanted")
    assert first.message_id != second.message_id and first.thread_id == red
    await (await town.vol2.press("🙋 Sign up", message=first)).answer()
    await card_now(town, first, "1 left")
    forum.delete(first, by=town.admin)

    await (await town.admin.press("🙋 Sign up", message=second)).answer()
    again = await forum.wait_for(text="Volunteers wanted",
                                 predicate=lambda m: m is not first and m is not second)
    assert again.thread_id == red
