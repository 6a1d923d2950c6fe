"""Telegram's limits in the supervision loop: a problem with the longest note and the most
photos goes to its unit, is rectified with the most after photos and the longest note,
rejected with the longest reason and passed, and Telegram refuses no call."""

from __future__ import annotations

import pytest

from tests.conftest import Town
from tests.flows import long_as
from tests.test_bad_input_e2e import assert_nothing_broke
from tests.test_limits_e2e import HARD
from tests.test_supervision_dispatch_e2e import cast, press, report
from tests.test_supervision_dispatch_e2e import town_settings as town_settings  # the fixture
from tests.test_supervision_inspect_e2e import at_the_market, inspector


async def test_the_longest_problem_goes_round_and_its_history_stays_whole(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Six before photos and a note of 500 units; four after photos and the longest note
    twice; a rejection with the longest reason; the re-check album of ten; /problem."""
    c = await cast(town)
    for person in (c.li, c.zhang, c.admin):
        person.first_name = person.last_name = long_as(HARD, 64)
    ref = await report(town, c.li, note=long_as(HARD, 500), photos=6)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    for round_ in range(2):
        await press(c.zhang, "🔧 Rectified", card)
        await c.zhang.wait_for(text="send the after photo")
        for n in range(4):
            await c.zhang.send_photo()
            await c.zhang.wait_for(text=f"After photo {n + 1} kept")
        await c.zhang.send(long_as(HARD, 500)[:500])
        await c.zhang.wait_for(text="goes to the inspector for re-check")
        recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
        if round_ == 0:
            await press(c.li, "❌ Reject", recheck)
            await c.li.wait_for(text="why is it not put right")
            await c.li.send(long_as(HARD, 300))
            await c.li.wait_for(text=f"Problem {ref} goes back to its unit")
            await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    assert await press(c.li, "✅ Pass", recheck) == f"{ref} passed."
    await town.sb.wait_until(lambda: "Passed the re-check" in (card.text or ""))
    await c.admin.send(f"/problem {ref}")
    await c.admin.wait_for(text=f"Problem {ref}: passed")
    await c.admin.send("/sstats", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="upervision")
    assert_nothing_broke(town, caplog)


async def test_photos_past_the_most_get_one_answer_per_album(town: Town) -> None:
    """Li sends ten photos of a problem as an album: six are kept, one answer comes. Then he
    sends three more as another album: one answer says six is the most, not one per photo
    (a phone sends a big pick of photos as albums of ten)."""
    await inspector(town)
    li = town.vol1
    question = await at_the_market(town)
    await li.press("⚠️ Report a problem", message=question)
    await li.wait_for(text="What kind of problem")
    await li.press("Street vending")
    await li.wait_for(text="at least one before photo")
    await li.send_album(10)
    await li.wait_for(text="Photo 1 kept")
    before = len(li.private.bot_messages())
    await li.send_album(3)
    await li.wait_for(text="the most photos one problem takes (6)")
    await li.press("➡️ Done with photos")
    await li.wait_for(text="Describe the problem")
    told = [m.text for m in li.private.bot_messages()[before:]
            if "the most photos" in (m.text or "")]
    assert len(told) == 1, told


async def test_photos_sent_as_files_in_an_album_are_told_once(town: Town) -> None:
    """Li picks three photos "as files": they come as an album of documents. He is told once
    to send them as photos, not three times; then his photos are kept."""
    await inspector(town)
    li = town.vol1
    question = await at_the_market(town)
    await li.press("⚠️ Report a problem", message=question)
    await li.wait_for(text="What kind of problem")
    await li.press("Street vending")
    await li.wait_for(text="at least one before photo")
    before = len(li.private.bot_messages())
    await li.send_document_album(3)
    await li.wait_for(text="not as a file")
    await li.send_photo()
    await li.wait_for(text="Photo 1 kept")
    told = [m.text for m in li.private.bot_messages()[before:]
            if "not as a file" in (m.text or "")]
    assert len(told) == 1, told


async def test_an_after_photo_with_a_caption_longer_than_a_note_does_not_block_the_note(
        town: Town) -> None:
    """Zhang sends the after photo with a caption longer than a note takes (Telegram lets a
    caption run to 1,024): the photo is kept, he is told the caption is not, and the short
    note he types then sends the problem for re-check (the caption no longer put before
    every note he tries, each refused as too long)."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    await press(c.zhang, "🔧 Rectified", card)
    await c.zhang.wait_for(text="send the after photo")
    await c.zhang.send_photo(caption=long_as("Stalls moved, lane swept", 1000))
    await c.zhang.wait_for(text="caption is 1000 characters long")
    await c.zhang.send("Stalls moved away")
    await c.zhang.wait_for(text="goes to the inspector for re-check")


async def test_a_caption_longer_than_a_note_is_cut_with_a_mark_the_preview_shows(
        town: Town) -> None:
    """Li's before photo carries a caption longer than a note takes (500): it becomes the
    note cut to 500 with "…" at the cut, so the preview shows that something was left out."""
    await inspector(town)
    li = town.vol1
    question = await at_the_market(town)
    await li.press("⚠️ Report a problem", message=question)
    await li.wait_for(text="What kind of problem")
    await li.press("Street vending")
    await li.wait_for(text="at least one before photo")
    caption = long_as("Fruit stalls block the pavement", 600)
    await li.send_photo(caption=caption)
    await li.wait_for(text="Photo 1 kept")
    await li.press("➡️ Done with photos")
    await li.wait_for(text="How serious is it?")
    await li.press("🔴 Urgent: 1 days")
    preview = await li.wait_for(text="Check before sending")
    kept = caption[:499].rstrip() + "…"
    assert kept in (preview.text or ""), preview.text


async def test_a_caption_and_a_note_too_long_together_keep_the_note(town: Town) -> None:
    """Zhang's after photo carries a caption of 400 characters, and his note is 200: together
    past the 500 a note takes. The note he typed is taken (the caption stays on the photo),
    rather than refused as "601 characters" he never typed."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    await press(c.zhang, "🔧 Rectified", card)
    await c.zhang.wait_for(text="send the after photo")
    await c.zhang.send_photo(caption=long_as("Stalls moved", 400))
    await c.zhang.wait_for(text="After photo 1 kept")
    note = long_as("Lane swept and kept clear", 200)
    await c.zhang.send(note)
    await c.zhang.wait_for(text="goes to the inspector for re-check")
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    assert note in (recheck.text or "")
