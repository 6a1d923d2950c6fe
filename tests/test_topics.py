"""Where a unit's messages go when its update came from a forum's topic (bot/unit.py in_topic):
the pure rule, message by message. The stories in tests/test_forum_*_e2e.py show it in a town;
this holds every kind of message the rule tells apart, including those no story reaches yet."""

from __future__ import annotations

from bot import ui
from bot.context import Topic
from bot.unit import in_topic
from storage import Outgoing

FORUM, OTHER_FORUM, LI = -1001, -1002, 1003
REPAIRS = Topic(FORUM, 7, "Repairs")


def thread(message: Outgoing) -> int | None:
    """The topic a message names, if any."""
    return message.payload.get("message_thread_id")


def test_an_answer_to_the_forum_goes_to_the_topic_it_was_typed_in() -> None:
    """The admin typed in Repairs: the answer to the forum, a photo and a copy of a message
    go there. Typed in General (no topic), the answer names no topic."""
    assert thread(in_topic(REPAIRS, ui.message(FORUM, "绑定列表"))) == 7
    assert thread(in_topic(REPAIRS, ui.photo(FORUM, "photo-1", "照片"))) == 7
    assert thread(in_topic(REPAIRS, ui.copy(FORUM, LI, 5, "转发"))) == 7
    assert thread(in_topic(None, ui.message(FORUM, "绑定列表"))) is None


def test_a_message_to_another_chat_names_no_topic_of_this_one() -> None:
    """What the same press sends Li in private, or to another forum, keeps no thread of
    the forum it came from: a thread id names a topic of its own chat only."""
    assert thread(in_topic(REPAIRS, ui.message(LI, "任务详情"))) is None
    assert thread(in_topic(REPAIRS, ui.message(OTHER_FORUM, "提醒"))) is None


def test_cards_keep_their_bindings_place_whatever_topic_caused_them() -> None:
    """A request's card, an activity's card, a problem's card and an honour's announcement
    are posted where their binding says, never in the topic where the command was typed."""
    for purpose in ("card", "post", "problem_post", "honour_post"):
        card = ui.message(FORUM, "卡片", purpose=purpose)
        assert thread(in_topic(REPAIRS, card)) is None, purpose


def test_an_edit_and_a_message_that_names_its_topic_are_left_as_they_are() -> None:
    """An edit names its message, not a topic; a message that names a topic itself (a card
    reminder under its card in the Elderly topic) keeps that one."""
    edit = ui.edit_text(FORUM, 12, "已认领")
    assert in_topic(REPAIRS, edit) is edit
    own = ui.message(FORUM, "提醒", thread_id=3)
    assert thread(in_topic(REPAIRS, own)) == 3
