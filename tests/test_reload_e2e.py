"""/reload: a centre admin changes the categories, teams or areas in the files and the bot
takes them without a restart; a broken file is refused, saying where, and nothing changes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Town, to_toml
from tests.flows import open_bot, open_form

REPAIR = {"code": "repair", "zh": "家电维修", "en": "Appliance repair"}


def config_file(town: Town) -> Path:
    """The file the town's bot was started from."""
    source = town.bot.config.source
    assert source is not None
    return source


def rewrite(town: Town, change: Any) -> None:
    """Edit the config file as an operator would: read it, change it, write it back."""
    path = config_file(town)
    raw = tomllib.loads(path.read_text("utf-8"))
    change(raw)
    path.write_text(to_toml(raw), "utf-8")


async def categories_offered(town: Town) -> list[str]:
    """The categories the request form offers Alice now (the form is then left)."""
    question = await open_form(town.citizen, command=True)
    await town.citizen.send("/cancel")
    await town.citizen.wait_for(text="cancelled")
    return question.buttons


async def test_a_new_category_is_offered_after_reload(town: Town) -> None:
    await open_bot(town.citizen, town.admin)
    assert "Appliance repair" not in await categories_offered(town)
    rewrite(town, lambda raw: raw["categories"].append(
        {**REPAIR, "group_id": town.volunteers.id}))

    await town.admin.send("/reload")
    done = await town.admin.wait_for(text="Reloaded")
    assert "4 categories" in (done.text or "")
    assert "restart" not in (done.text or "")
    assert "Appliance repair" in await categories_offered(town)


async def test_a_broken_file_is_refused_and_the_bot_keeps_what_it_had(town: Town) -> None:
    await open_bot(town.citizen, town.admin)
    before = await categories_offered(town)
    rewrite(town, lambda raw: raw["categories"].append({"code": "repair", "zh": "家电维修"}))

    await town.admin.send("/reload")
    refused = await town.admin.wait_for(text="Not reloaded")
    assert "categories" in (refused.text or "") and "en" in (refused.text or "")
    assert await categories_offered(town) == before

    config_file(town).write_text("this is not [ TOML", "utf-8")
    await town.admin.send("/reload", chat=town.admin_chat)
    refused = await town.admin_chat.wait_for(text="Not reloaded")
    assert "not valid TOML" in (refused.text or "")
    assert await categories_offered(town) == before


async def test_other_changes_wait_for_a_restart_and_say_so(town: Town) -> None:
    await open_bot(town.admin)
    rewrite(town, lambda raw: raw["delivery"].update(group_per_minute=5))
    await town.admin.send("/reload")
    done = await town.admin.wait_for(text="Reloaded")
    assert "applied at the next restart only: delivery" in (done.text or "")
    assert town.bot.services is not None
    assert town.bot.services.env.config.delivery.group_per_minute != 5


async def test_only_centre_admins_reload(town: Town) -> None:
    await open_bot(town.vol1)
    await town.vol1.send("/reload")
    await town.vol1.wait_for(text="only the service centre's admins")


class TestTeams:
    """Teams come from their own CSV file: a new team shows in /join after /reload."""

    @pytest.fixture
    def town_settings(self, tmp_path: Path) -> dict[str, Any]:
        (tmp_path / "teams.csv").write_text(
            "id,area_id,name_zh,name_en,leader_id\nred,,红马甲服务队,Red Vest Team,\n", "utf-8")
        return {"volunteers": {"teams_file": "teams.csv"}}

    async def test_a_new_team_can_be_joined_after_reload(self, town: Town,
                                                         tmp_path: Path) -> None:
        await open_bot(town.admin)
        with (tmp_path / "teams.csv").open("a", encoding="utf-8") as teams:
            teams.write("blue,,蓝天服务队,Blue Sky Team,\n")
        await town.admin.send("/reload")
        done = await town.admin.wait_for(text="Reloaded")
        assert "2 teams" in (done.text or "")
        zhang = town.vol2
        await zhang.send("/join")
        await zhang.wait_for(text="please type your name")
        await zhang.send("张伟")
        await zhang.wait_for(text="share your phone number")
        await zhang.tap("📞 Share my phone number")
        teams_offered = await zhang.wait_for(text="Which team")
        assert "Blue Sky Team" in teams_offered.buttons
