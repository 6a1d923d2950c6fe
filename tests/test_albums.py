"""An album's photos, one message each: its first photo is answered, the others let go where
the first was the whole answer; the first photo handled again (its unit of work refused for
lack of room, then run once more) is still the first, never one more of its album."""

from __future__ import annotations

from collections import OrderedDict

from bot.context import Said
from bot.dialogs import Flow
from bot.requests.intake import Intake
from storage.models import Dialog

ORGANISER = 1003


def intake() -> Intake:
    """An intake with no album seen yet (only its memory of albums is used here)."""
    fresh = Intake.__new__(Intake)
    fresh._albums = OrderedDict()
    return fresh


def photo(message_id: int) -> Said:
    """One photo of Li's album "g1"."""
    return Said(kind="photo", file_id=f"f{message_id}", media_group_id="g1",
                message_id=message_id)


def test_a_posters_album_is_answered_by_its_first_photo_only() -> None:
    poster = Dialog(ORGANISER, Flow.PUBLISH, "poster", {})
    albums = intake()
    assert not albums._answered_album(ORGANISER, poster, photo(10))
    after = Dialog(ORGANISER, Flow.PUBLISH, "preview", {})
    assert albums._answered_album(ORGANISER, after, photo(11))


def test_the_first_photo_handled_again_is_still_answered() -> None:
    """The disk was full: the poster's unit was refused, and the inbox runs it again."""
    poster = Dialog(ORGANISER, Flow.PUBLISH, "poster", {})
    albums = intake()
    assert not albums._answered_album(ORGANISER, poster, photo(10))
    assert not albums._answered_album(ORGANISER, poster, photo(10))
    assert albums._answered_album(ORGANISER, poster, photo(11))
