"""Forum supergroups: one group with a topic per category or team. A command typed in a topic
is answered in that topic; /bind typed in a topic binds the category to it, so its cards are
posted there; a topic deleted since makes its cards go to the General topic, and the admins
hear once that the binding's topic is gone."""

from __future__ import annotations

from sandbox import SimChat
from tests.conftest import Town

LISTING = "Volunteer groups"


async def forum_of_teams(town: Town) -> tuple[SimChat, int, int]:
    """A forum where the admin has opened an "Elderly help" and a "Repairs" topic."""
    forum = town.sb.add_group("District teams", forum=True)
    forum.add_member(town.admin, status="administrator")
    forum.add_member(town.vol1)
    elderly = forum.create_topic("Elderly help", by=town.admin)
    repairs = forum.create_topic("Repairs", by=town.admin)
    return forum, elderly, repairs


async def test_a_command_typed_in_a_topic_is_answered_in_that_topic(town: Town) -> None:
    """The admin asks /bindings in the Repairs topic and reads the answer there, not in the
    General topic where nobody of the team looks; asked in General, it is answered in
    General. Li types /new in the Elderly help topic: the pointer to the private chat comes
    in that topic. An admin writing as the group in Repairs is told why in Repairs."""
    forum, elderly, repairs = await forum_of_teams(town)
    await town.admin.send("/bindings", chat=forum, topic=repairs)
    assert (await forum.wait_for(text=LISTING)).thread_id == repairs

    await town.admin.send("/bindings", chat=forum)
    assert (await forum.wait_for(text=LISTING)).thread_id is None

    await town.vol1.send("/new", chat=forum, topic=elderly)
    pointer = await forum.wait_for(text="Please talk to me in a private chat")
    assert pointer.thread_id == elderly

    await town.admin.send_as_group("/stats", chat=forum, topic=repairs)
    told = await forum.wait_for(text="Remain anonymous")
    assert told.thread_id == repairs
