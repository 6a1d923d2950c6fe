"""Loop 3's registers (issue 16.1): the inspection points and the responsible units, each a
CSV named in the config. The model district's files load (129 roads with their road chiefs,
markets, back alleys, one community per community station, schools); every mistake stops
start-up with one line naming the file and the line, as the area file's do.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.areas.tree import load_areas
from bot.config import ConfigError, load_config
from bot.supervision.registers import RegisterError, load_problem_types, load_registers

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sandbox" / "data"
EXAMPLE_AREAS = load_areas(ROOT / "areas.example.csv")
UNITS = """id,name_zh,name_en,area_id,contact_id
urban-management,区综合行政执法局,District Urban Management Bureau,centre,
guangminglu-office,光明路街道办事处,Guangminglu Subdistrict Office,guangminglu,1001
"""
POINTS = """id,name_zh,name_en,kind,area_id,unit_id,road_chief,lat,lon
road-001,光明路,Guangming Road,road,guangminglu,urban-management,王建国,34.855,117.570
community-01,光明路第1社区,Guangminglu Community 1,community,guangminglu-01,guangminglu-office,,,
"""


def write(folder: Path, points: str = POINTS, units: str = UNITS) -> tuple[Path, Path]:
    (folder / "points.csv").write_text(points, "utf-8")
    (folder / "units.csv").write_text(units, "utf-8")
    return folder / "points.csv", folder / "units.csv"


def test_the_model_districts_registers_load_with_every_road_and_community() -> None:
    areas = load_areas(DATA / "areas-shizhong.csv")
    registers = load_registers(DATA / "inspection-points-shizhong.csv",
                               DATA / "responsible-units-shizhong.csv", areas)
    kinds = Counter(point.kind for point in registers.points.values())
    assert kinds == {"road": 129, "community": 158, "alley": 22, "market": 14, "school": 12}
    roads = [p for p in registers.points.values() if p.kind == "road"]
    assert all(p.road_chief and p.latitude is not None for p in roads)
    assert len({p.name("zh") for p in registers.points.values()}) == len(registers.points)
    stations = [a for a in areas.leaves() if a.id != areas.root]
    assert {p.area_id for p in registers.points.values() if p.kind == "community"} == {
        a.id for a in stations}
    assert len(registers.units) == 15
    assert len(registers.points_of("urban-management")) == 129


def test_a_small_pair_of_files_reads_as_written(tmp_path: Path) -> None:
    registers = load_registers(*write(tmp_path), EXAMPLE_AREAS)
    road = registers.points["road-001"]
    assert (road.name("zh"), road.name("en"), road.kind, road.road_chief) == (
        "光明路", "Guangming Road", "road", "王建国")
    assert registers.points["community-01"].latitude is None
    assert registers.units["guangminglu-office"].contact_id == 1001
    assert registers.units["urban-management"].contact_id is None


@pytest.mark.parametrize(("points", "units", "problem"), [
    (POINTS.replace(",road,guangminglu,", ",highway,guangminglu,"), UNITS,
     "points.csv:2: kind 'highway' must be one of road, market, alley, community, school"),
    (POINTS.replace("guangminglu-01,guangminglu-office", "nowhere,guangminglu-office"), UNITS,
     "points.csv:3: unknown area 'nowhere' of point 'community-01'"),
    (POINTS.replace(",urban-management,王建国", ",roads-dept,王建国"), UNITS,
     "points.csv:2: unknown unit 'roads-dept' of point 'road-001'"),
    (POINTS + "road-001,光明路二,Guangming Road 2,road,guangminglu,urban-management,,,\n", UNITS,
     "points.csv:4: duplicate id 'road-001' (first on line 2)"),
    (POINTS.replace("34.855,117.570", "north,117.570"), UNITS,
     "points.csv:2: lat and lon must both be numbers or both empty"),
    (POINTS.replace("community,guangminglu-01,guangminglu-office,,",
                    "community,guangminglu-01,guangminglu-office,张三,"), UNITS,
     "points.csv:3: only a road has a road chief ('community-01' is a community)"),
    (POINTS.replace(",Guangming Road,", ",,"), UNITS,
     "points.csv:2: 'road-001' needs both name_zh and name_en"),
    ("id,name,kind\n", UNITS, "points.csv:1: the header must be id,name_zh,name_en,kind"),
    (POINTS, UNITS.replace(",guangminglu,1001", ",guangminglu,@wang"),
     "units.csv:3: contact_id '@wang' must be a Telegram user id"),
    (POINTS, UNITS.replace(",centre,", ",atlantis,"),
     "units.csv:2: unknown area 'atlantis' of unit 'urban-management'"),
    (POINTS, UNITS.split("\n")[0] + "\n", "units.csv:2: no units below the header"),
])
def test_each_mistake_names_the_file_and_the_line(
    tmp_path: Path, points: str, units: str, problem: str,
) -> None:
    with pytest.raises(RegisterError) as caught:
        load_registers(*write(tmp_path, points, units), EXAMPLE_AREAS)
    assert problem in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_the_config_needs_both_files_and_the_area_file(tmp_path: Path) -> None:
    write(tmp_path)
    base = ('[bot]\nadmin_ids = [1]\n[[categories]]\ncode = "a"\nzh = "甲"\nen = "A"\n')
    config = tmp_path / "config.toml"
    config.write_text(base + '[supervision]\npoints_file = "points.csv"\n', "utf-8")
    with pytest.raises(ConfigError, match=r"supervision\.units_file: supervision needs all three"):
        load_config(config, {"TELEGRAM_BOT_TOKEN": "1:a"})
    (tmp_path / "types.toml").write_text((ROOT / "problem-types.example.toml").read_text(
        "utf-8"), "utf-8")
    config.write_text(base + '[supervision]\npoints_file = "points.csv"\n'
                      'units_file = "units.csv"\ntypes_file = "types.toml"\n', "utf-8")
    with pytest.raises(ConfigError, match="need the area file"):
        load_config(config, {"TELEGRAM_BOT_TOKEN": "1:a"})


def test_a_broken_register_stops_start_up_with_one_line(tmp_path: Path) -> None:
    """`python -m bot` names the key, the file and the line, and exits 2."""
    write(tmp_path, POINTS.replace(",road,guangminglu,", ",highway,guangminglu,"))
    config = tmp_path / "config.toml"
    config.write_text(
        '[bot]\nadmin_ids = [1]\n[[categories]]\ncode = "a"\nzh = "甲"\nen = "A"\n'
        f'[areas]\nfile = "{ROOT / "areas.example.csv"}"\n'
        '[supervision]\npoints_file = "points.csv"\nunits_file = "units.csv"\n'
        f'types_file = "{ROOT / "problem-types.example.toml"}"\n', "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config)], capture_output=True,
        text=True, timeout=60, cwd=ROOT, env={"TELEGRAM_BOT_TOKEN": "1:abc",
                                              "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("config error: supervision.points_file: ")
    assert line.endswith("points.csv:2: kind 'highway' must be one of road, market, alley, "
                         "community, school, other")


def test_the_problem_types_load_in_their_order_and_each_mistake_names_its_line(
    tmp_path: Path,
) -> None:
    types = load_problem_types(ROOT / "problem-types.example.toml")
    assert [t.code for t in types][:3] == ["street-vending", "piled-rubbish", "exposed-waste"]
    assert types[0].name("zh") == "占道经营" and types[0].name("en") == "Street vending"
    good = '[[type]]\ncode = "a"\nzh = "甲"\nen = "A"\n\n'
    for text, problem in [
        (good + '[[type]]\ncode = "a"\nzh = "乙"\nen = "B"\n', "types.toml:6: duplicate code 'a'"),
        (good + '[[type]]\ncode = "b"\nzh = "乙"\nen = "' + "B" * 31 + '"\n',
         "types.toml:6: 'b' needs zh and en names of 1-30 characters"),
        (good + '[[type]]\ncode = "B!"\nzh = "乙"\nen = "B"\n', "types.toml:6: code 'B!'"),
        ('[[type]]\ncode = "a"\nzh = "甲"\n', "types.toml:1: a [[type]] has exactly code, zh"),
        ("title = 1\n", "types.toml:1: the file holds [[type]] tables only"),
        ('[[type]\n', "types.toml: "),
    ]:
        (tmp_path / "types.toml").write_text(text, "utf-8")
        with pytest.raises(RegisterError) as caught:
            load_problem_types(tmp_path / "types.toml")
        assert problem in str(caught.value), (problem, str(caught.value))


def test_more_problem_types_than_one_keyboard_holds_are_refused(tmp_path: Path) -> None:
    """The inspector picks the type among buttons on one message, and Telegram takes 100
    buttons at most: a file of 100 types loads, one of 101 is refused, saying why, rather
    than leaving every inspector at a question that never comes."""
    entry = '[[type]]\ncode = "t{n}"\nzh = "类{n}"\nen = "Type {n}"\n\n'
    (tmp_path / "types.toml").write_text("".join(entry.format(n=n) for n in range(100)), "utf-8")
    assert len(load_problem_types(tmp_path / "types.toml")) == 100
    (tmp_path / "types.toml").write_text("".join(entry.format(n=n) for n in range(101)), "utf-8")
    with pytest.raises(RegisterError) as caught:
        load_problem_types(tmp_path / "types.toml")
    assert "types.toml: 101 types, at most 100" in str(caught.value)
