"""The recruitment cards of activities in groups: where they go, posting them, and drawing
them again when sign-ups, the status or the details change.

Cards go to the team's own group (/bind team <id>) and to the volunteer groups of the
activity's area and the areas below it; an area with none borrows the nearest area above that
has some; an activity of the whole district goes to every volunteer group. Each card is an
`activity_posts` row; the sender records its message id, and an edit queued while a later one
waits is skipped, so a burst of sign-ups costs a group one edit.
"""

from __future__ import annotations

from bot import ui
from bot.activities import render
from bot.activities.themes import MonthThemes
from bot.context import Env
from bot.unit import Unit, pressed_in
from storage import Activity, Repo

# Where a card goes: a group, and the forum topic in it (None: General, or no topics).
Place = tuple[int, int | None]


class Board:
    """Posts and redraws the recruitment cards of activities."""

    def __init__(self, env: Env, themes: MonthThemes) -> None:
        self.env = env
        self.themes = themes

    @staticmethod
    async def redrawn(repo: Repo, chat_id: int, message_id: int) -> bool:
        """Whether the bot draws this message from what is stored (an activity's or a call's
        card or roster, a problem's card, a request's card): a press may edit it only with a
        button it carries, since any other text would stand until the next redraw."""
        return (await repo.activities.is_post(chat_id, message_id)
                or await repo.supervision.is_post(chat_id, message_id)
                or await repo.cards.is_card(chat_id, message_id))

    async def theme_title(self, unit: Unit, activity: Activity, language: str) -> str | None:
        """The title of the activity's theme in `language`, if it has one."""
        if activity.theme_year is None or activity.theme_month is None:
            return None
        theme = await self.themes.theme_of(unit, activity.theme_year, activity.theme_month,
                                           language)
        return theme.title if theme is not None else None

    async def targets(self, repo: Repo, activity: Activity) -> list[Place]:
        """The groups an activity's card goes to, the team's own first, each once, with the
        forum topic in each."""
        return await self.groups_for(repo, [activity.area_id], [activity.team_id])

    async def groups_for(self, repo: Repo, area_ids: list[str | None],
                         team_ids: list[str]) -> list[Place]:
        """The teams' own groups, then the volunteer groups of each area (None: the whole
        district), each once and never an admin chat (activities, recruitment calls and
        honours' announcements), each with the forum topic the card goes to there: a team's
        own group, the team's topic; an area's group, the topic its bindings of those areas
        there share. An activity is of no category: where a group holds the area's bindings
        in one topic (a forum with a topic per area), that is where the area's volunteers
        look; spread over several topics (a topic per category), or in General, it is
        General, which all of them see."""
        places: dict[int, int | None] = {}
        for team_id in team_ids:
            team_place = await repo.activities.team_place(team_id)
            if team_place is not None and team_place[0] not in places:
                places[team_place[0]] = team_place[1]
        bindings = await repo.areas.binding_places()
        for category in self.env.config.categories:  # the config's groups serve the district
            if category.group_id and (category.code, "") not in bindings:
                bindings[(category.code, "")] = (category.group_id, None)
        admin_chats = set(self.env.config.admin_chats())
        topics: dict[int, set[int | None]] = {}
        for area_id in area_ids:
            for chat, topic in self._area_groups(bindings, area_id):
                if chat not in places and chat not in admin_chats:
                    topics.setdefault(chat, set()).add(topic)
        for chat, seen in topics.items():
            places[chat] = next(iter(seen)) if len(seen) == 1 else None
        return list(places.items())

    def _area_groups(self, bindings: dict[tuple[str, str], tuple[int, int | None]],
                     area_id: str | None) -> list[tuple[int, int | None]]:
        """The volunteer groups of an area and the areas below it; an area with none borrows
        the nearest area above that has some; the whole district: every volunteer group."""
        tree = self.env.config.areas
        if area_id is None or tree is None or area_id not in tree:
            return list(bindings.values())
        below = set(tree.subtree(area_id))
        if tree.root in below:
            below.add("")  # a binding of the whole district
        found = [place for (_, area), place in bindings.items() if area in below]
        for level in tree.ancestry(area_id)[1:]:
            if found:
                break  # the nearest area above with groups of its own
            found = [place for (_, area), place in bindings.items()
                     if area == level or (level == tree.root and area == "")]
        return found

    async def post(self, unit: Unit, activity: Activity) -> int:
        """Post the activity's card in its groups; how many groups."""
        places = await self.targets(unit.repo, activity)
        await self.post_in(unit, activity, places)
        return len(places)

    async def post_in(self, unit: Unit, activity: Activity, places: list[Place]) -> None:
        """Post the activity's card in these groups, each in its forum topic (None: General)
        (a team's group bound later, too)."""
        text, markup = await self._card(unit, activity)
        for chat, topic in places:
            if activity.poster:
                post_id = await unit.repo.activities.add_post(activity.id, chat, "photo",
                                                              unit.now())
                unit.send(ui.photo(chat, activity.poster, ui.clip_html(text, ui.CAPTION_MAX),
                                   markup, purpose="post", post_id=post_id, thread_id=topic))
            else:
                post_id = await unit.repo.activities.add_post(activity.id, chat, "text",
                                                              unit.now())
                unit.send(ui.message(chat, text, markup, purpose="post", post_id=post_id,
                                     thread_id=topic))

    async def take_on(self, unit: Unit, activity_id: int, chat_id: int, message_id: int,
                      *, call: bool = False) -> int | None:
        """A press on a copy of an activity's card (a call's, if `call`) the bot does not know
        (its post went, but the answer was lost to a crash or a broken line, and it was posted
        again): the copy becomes one more of its cards, in the topic it was pressed in,
        redrawn with the others (else it kept offering Sign up or I'm in as it was, for
        ever). Its post's id; None if the message is a known card, or may be one whose id is
        not written yet, or the activity is not one of that kind."""
        repo = unit.repo
        if await repo.activities.is_post(chat_id, message_id):
            return None
        activity = await repo.activities.activity(activity_id)
        if activity is None or activity.is_call != call:
            return None
        posts = [post for post in await repo.activities.posts(activity_id)
                 if post.chat_id == chat_id]
        if any(post.message_id is None for post in posts):
            return None  # its card there is being posted: this may be it
        # Posted as its card there went (a poster, whose words are its caption, or words:
        # a press shows nothing of its message), else as the card is posted now.
        kind = posts[0].kind if posts else "photo" if activity.poster else "text"
        post_id = await repo.activities.add_post(activity_id, chat_id, kind, unit.now())
        await repo.activities.record_post_message(post_id, message_id, kind, chat_id,
                                                  pressed_in(unit, chat_id))
        return post_id

    async def redraw(self, unit: Unit, activity_id: int) -> Activity | None:
        """Queue the current state of an activity's cards (places, status, details); the
        activity as drawn, for the caller's own messages (None: gone, or a call)."""
        activity = await unit.repo.activities.activity(activity_id)
        if activity is None or activity.is_call:  # a call's cards are bot/activities/calls.py's
            return None
        text, markup = await self._card(unit, activity)
        for post in await unit.repo.activities.posts(activity.id):
            shown = ui.clip_html(text, ui.CAPTION_MAX) if post.kind == "photo" else text
            unit.send(ui.post_edit(post.chat_id, post.id, shown, markup))
        return activity

    async def _card(self, unit: Unit, activity: Activity) -> tuple[str, dict[str, object] | None]:
        lang = self.env.config.default_language
        theme = await self.theme_title(unit, activity, lang)
        now = unit.now()
        return (render.card_text(self.env, activity, theme, now),
                render.card_markup(self.env, activity, now))

