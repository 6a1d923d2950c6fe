"""The area tree: the district's shape is read from one CSV file, checked line by line.

A district is a centre, its institutes (subdistricts and towns) and their stations
(communities). Routing and statistics walk this tree, so a file that is wrong must stop the
bot at start-up with the file, the line and the problem named, never half-load.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.areas.tree import AreaError, AreaTree, distance_km, load_areas
from bot.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent
SHIZHONG = ROOT / "sandbox" / "data" / "areas-shizhong.csv"
HEADER = "id,parent_id,name_zh,name_en,lat,lon"
CENTRE = "centre,,中心,Centre,34.864,117.556"
GOOD_CONFIG: dict[str, Any] = {
    "telegram": {"token": "123:abc"},
    "bot": {"admin_ids": [1]},
    "categories": [{"code": "elderly", "zh": "助老服务", "en": "Help for the elderly"}],
}


def write_csv(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "areas.csv") -> Path:
    """Write an area file: the header, then one row per line (line 2 is the first row)."""
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    """Load a file that must be refused and return the message."""
    with pytest.raises(AreaError) as caught:
        load_areas(path)
    return str(caught.value)


def line_named(message: str, path: Path) -> int:
    """The line number the message names after the file (fails if it names none)."""
    match = re.match(rf"^{re.escape(str(path))}:(\d+): ", message)
    assert match, f"the message names no line of {path}: {message!r}"
    return int(match.group(1))


@pytest.fixture(scope="module")
def shizhong() -> AreaTree:
    """The full synthetic tree of Shizhong district shipped with the sandbox."""
    return load_areas(SHIZHONG)


# -- the full tree ---------------------------------------------------------------------------


def test_the_full_synthetic_tree_loads_with_every_level(shizhong: AreaTree) -> None:
    """Shizhong's file holds 170 areas: one centre, 11 institutes under it and 158 stations
    under those; every station sits two levels down and has a coordinate."""
    assert len(shizhong) == 170
    assert shizhong.root == "centre"
    institutes = shizhong.children("centre")
    assert len(institutes) == 11
    assert "guangminglu" in [i.id for i in institutes]
    assert all(i.depth == 1 and i.children for i in institutes)
    stations = shizhong.leaves()
    assert len(stations) == 158
    assert all(s.depth == 2 and s.latitude is not None and s.longitude is not None
               for s in stations)
    assert sum(len(i.children) for i in institutes) == 158
    station = shizhong.get("guangminglu-01")
    assert station.name("en") == "Guangminglu Community 1 Practice Station"
    assert station.name("zh") == "光明路第1社区新时代文明实践站"


def test_ancestry_subtree_and_leaves_walk_the_tree(shizhong: AreaTree) -> None:
    """A station's ancestry climbs station → institute → centre; an institute's subtree is
    itself and its stations, nothing of its neighbours; the centre's subtree is everything."""
    assert shizhong.ancestry("guangminglu-01") == ["guangminglu-01", "guangminglu", "centre"]
    assert shizhong.ancestry("guangminglu") == ["guangminglu", "centre"]
    assert shizhong.ancestry("centre") == ["centre"]

    subtree = shizhong.subtree("guangminglu")
    assert sorted(subtree) == ["guangminglu", *(f"guangminglu-{n:02d}" for n in range(1, 10))]
    assert "zhongxinjie-01" not in subtree
    assert shizhong.subtree("guangminglu-03") == ["guangminglu-03"]
    assert sorted(shizhong.subtree("centre")) == sorted(shizhong.areas)
    assert {a.id for a in shizhong.leaves()} == {
        a for a in shizhong.areas if not shizhong.get(a).children}


def test_the_nearest_stations_come_in_distance_order(shizhong: AreaTree) -> None:
    """Standing on the spot of the Guangminglu institute itself, the four nearest areas
    offered are stations only (never the institute or the centre), nearest first, and they
    are exactly the four a brute-force distance_km over all stations finds."""
    lat, lon = 34.846, 117.551  # guangminglu's own coordinate
    near = shizhong.nearest(lat, lon, 4)
    assert len(near) == 4
    assert all(not a.children for a in near)

    def away(area_id: str) -> float:
        area = shizhong.get(area_id)
        assert area.latitude is not None and area.longitude is not None
        return distance_km(lat, lon, area.latitude, area.longitude)

    distances = [away(a.id) for a in near]
    assert distances == sorted(distances)
    by_brute_force = sorted((a.id for a in shizhong.leaves()), key=away)
    assert [a.id for a in near] == by_brute_force[:4]

    # Right next to a station, that station comes first.
    assert shizhong.nearest(34.83557, 117.55318, 4)[0].id == "guangminglu-01"


def test_distance_km_is_the_great_circle_distance() -> None:
    """distance_km is zero from a point to itself, symmetric, and one degree of latitude is
    about 111.2 km anywhere; a degree of longitude shrinks away from the equator."""
    assert distance_km(34.86, 117.55, 34.86, 117.55) == 0
    there = distance_km(34.86, 117.55, 34.9, 117.47)
    assert there == pytest.approx(distance_km(34.9, 117.47, 34.86, 117.55))
    assert distance_km(0, 0, 1, 0) == pytest.approx(111.19, abs=0.01)
    assert distance_km(60, 10, 61, 10) == pytest.approx(111.19, abs=0.01)
    assert distance_km(60, 10, 60, 11) == pytest.approx(111.19 / 2, abs=0.1)


def test_stations_without_a_coordinate_are_never_offered_as_nearest(tmp_path: Path) -> None:
    """A station whose coordinate is left empty still loads (it can be picked by name), but
    nearest() never offers it, and an institute is never offered even when closest."""
    path = write_csv(
        tmp_path, CENTRE,
        "east,centre,东,East,34.0,118.0",
        "east-01,east,东一,East 1,34.0,118.0",
        "east-02,east,东二,East 2,,",
        "east-03,east,东三,East 3,34.5,118.5",
    )
    tree = load_areas(path)
    assert tree.get("east-02").latitude is None and tree.get("east-02").longitude is None
    assert [a.id for a in tree.nearest(34.0, 118.0, 4)] == ["east-01", "east-03"]


def test_a_file_saved_with_a_byte_order_mark_and_blank_lines_loads(tmp_path: Path) -> None:
    """Spreadsheets save CSV with a byte order mark and sometimes leave blank lines: both
    are fine, and the tree is the same."""
    path = tmp_path / "areas.csv"
    rows = [HEADER, CENTRE, "", "east,centre,东,East,,", "", "east-01,east,东一,East 1,,"]
    text = "\n".join(rows)
    path.write_text("\ufeff" + text + "\n", encoding="utf-8")
    tree = load_areas(path)
    assert len(tree) == 3
    assert tree.ancestry("east-01") == ["east-01", "east", "centre"]


# -- malformed files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "id,parent,name_zh,name_en,lat,lon",
        "id,parent_id,name_en,name_zh,lat,lon",
        "id,parent_id,name_zh,name_en,lat",
        "",
    ],
    ids=["misspelt", "swapped", "short", "empty"],
)
def test_a_wrong_header_is_refused_at_line_1(tmp_path: Path, header: str) -> None:
    """The header must be exactly id,parent_id,name_zh,name_en,lat,lon: a misspelt,
    reordered, short or missing header stops at line 1 and says what it must be."""
    path = write_csv(tmp_path, CENTRE, header=header)
    message = refusal(path)
    assert line_named(message, path) == 1
    assert HEADER in message


def test_an_unknown_parent_is_refused_at_its_line(tmp_path: Path) -> None:
    """A station whose institute is not in the file is refused at the station's line."""
    path = write_csv(tmp_path, CENTRE, "east,centre,东,East,,", "west-01,west,西一,West 1,,")
    message = refusal(path)
    assert line_named(message, path) == 4
    assert "unknown parent 'west'" in message and "'west-01'" in message


def test_a_cycle_of_parents_is_refused(tmp_path: Path) -> None:
    """a's parent is b and b's parent is a, beside a proper centre: neither hangs from the
    centre, so the file is refused at the first line of the cycle."""
    path = write_csv(tmp_path, CENTRE, "east,centre,东,East,,", "a,b,甲,A,,", "b,a,乙,B,,")
    message = refusal(path)
    assert line_named(message, path) == 4
    assert "'a'" in message and "cycle" in message


def test_an_area_that_is_its_own_parent_is_a_cycle(tmp_path: Path) -> None:
    """An area naming itself as its parent is the smallest cycle."""
    path = write_csv(tmp_path, CENTRE, "loop,loop,环,Loop,,")
    message = refusal(path)
    assert line_named(message, path) == 3
    assert "cycle" in message


def test_a_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    """The same id twice is refused at the second line, and the first line is named too so
    the two rows can be compared."""
    path = write_csv(tmp_path, CENTRE, "east,centre,东,East,,", "east-01,east,东一,East 1,,",
                     "east,centre,东二,East again,,")
    message = refusal(path)
    assert line_named(message, path) == 5
    assert "duplicate id 'east'" in message and "first on line 3" in message


@pytest.mark.parametrize(
    ("lat", "lon", "says"),
    [
        ("north", "117.5", "numbers"),
        ("34.8", "east", "numbers"),
        ("91", "117.5", "out of range"),
        ("34.8", "-181", "out of range"),
        ("nan", "117.5", "out of range"),
        ("34.8", "", "both"),
        ("", "117.5", "both"),
    ],
    ids=["text-lat", "text-lon", "lat-range", "lon-range", "nan", "lat-only", "lon-only"],
)
def test_a_bad_coordinate_is_refused_at_its_line(
    tmp_path: Path, lat: str, lon: str, says: str
) -> None:
    """A coordinate must be two numbers in range, or both empty: text, an impossible
    latitude or longitude, or only one of the two is refused at that line."""
    path = write_csv(tmp_path, CENTRE, "east,centre,东,East,,",
                     f"east-01,east,东一,East 1,{lat},{lon}")
    message = refusal(path)
    assert line_named(message, path) == 4
    assert says in message


def test_two_centres_are_refused_naming_the_line(tmp_path: Path) -> None:
    """A second area without a parent would make a second district: the file is refused,
    naming both ids and the line of a parentless row."""
    path = write_csv(tmp_path, CENTRE, "east,centre,东,East,,", "west,,西,West,,")
    message = refusal(path)
    assert "centre" in message and "west" in message and "without a parent" in message
    assert line_named(message, path) in (2, 4)


def test_a_file_without_a_centre_is_refused(tmp_path: Path) -> None:
    """Every row having a parent means there is no centre (here: a two-area cycle)."""
    path = write_csv(tmp_path, "a,b,甲,A,,", "b,a,乙,B,,")
    message = refusal(path)
    assert str(path) in message and "found 0" in message


def test_a_header_without_rows_is_refused_naming_the_line(tmp_path: Path) -> None:
    """A file with the header and nothing under it has no district at all: refused, with
    the file and a line named."""
    path = write_csv(tmp_path)
    message = refusal(path)
    assert "no areas" in message
    assert line_named(message, path) in (1, 2)


@pytest.mark.parametrize(
    "area_id",
    ["East", "east 1", "-east", "east.1", "东", "e" * 33],
    ids=["upper", "space", "dash-first", "dot", "chinese", "too-long"],
)
def test_a_bad_id_shape_is_refused_at_its_line(tmp_path: Path, area_id: str) -> None:
    """Ids go into button data and commands, so they must be 1-32 of a-z 0-9 _ - (not
    starting with - or _): anything else is refused at its line."""
    path = write_csv(tmp_path, CENTRE, f"{area_id},centre,东,East,,")
    message = refusal(path)
    assert line_named(message, path) == 3
    assert "a-z 0-9" in message


def test_a_blank_line_does_not_shift_the_line_numbers(tmp_path: Path) -> None:
    """After blank lines the line named is still the line in the file an editor shows."""
    path = write_csv(tmp_path, CENTRE, "", "", "east,centre,东,East,north,117")
    assert line_named(refusal(path), path) == 5


def test_a_name_with_a_line_break_does_not_shift_the_line_numbers(tmp_path: Path) -> None:
    """A spreadsheet cell with a line break is saved as a quoted name over two lines; the
    row after it is still named by the line an editor shows (line 5 here)."""
    path = write_csv(tmp_path, CENTRE, 'east,centre,"东\n区",East,,', "East-01,east,东一,E,,")
    message = refusal(path)
    assert "'East-01'" in message
    assert line_named(message, path) == 5


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("east,centre,东,East,34.8", "columns"),
        ("east,centre,东,East,34.8,117.5,extra", "columns"),
        ("east,centre,,East,,", "name_zh and name_en"),
        ("east,centre,东,,,", "name_zh and name_en"),
    ],
    ids=["too-few", "too-many", "no-zh", "no-en"],
)
def test_a_row_with_missing_columns_or_names_is_refused(
    tmp_path: Path, row: str, says: str
) -> None:
    """Every row has six columns and both names (the bot speaks Chinese and English)."""
    path = write_csv(tmp_path, CENTRE, row)
    message = refusal(path)
    assert line_named(message, path) == 3
    assert says in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    """A path to nowhere says the file was not found."""
    message = refusal(tmp_path / "nowhere.csv")
    assert "nowhere.csv" in message and "not found" in message


# -- through the config ----------------------------------------------------------------------


def test_the_config_reads_the_area_file_relative_to_its_folder(tmp_path: Path) -> None:
    """[areas] file = "areas.csv" in a config.toml is found next to the config, wherever the
    bot is started from."""
    write_csv(tmp_path, CENTRE, "east,centre,东,East,,", "east-01,east,东一,East 1,,")
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        '[telegram]\ntoken = "123:abc"\n[bot]\nadmin_ids = [1]\n[areas]\nfile = "areas.csv"\n'
        '[[categories]]\ncode = "elderly"\nzh = "助老服务"\nen = "Help for the elderly"\n',
        encoding="utf-8",
    )
    config = load_config(config_path, env={})
    assert config.areas is not None
    assert config.areas.ancestry("east-01") == ["east-01", "east", "centre"]


def test_without_an_areas_table_there_is_no_tree() -> None:
    """[areas] is optional: without it the district has no tree."""
    assert parse_config(GOOD_CONFIG, env={}, base_dir=Path("/srv")).areas is None


def test_a_broken_area_file_stops_the_config_naming_key_file_and_line(tmp_path: Path) -> None:
    """A config whose area file has an unknown parent on line 3 stops start-up with
    "areas.file: <file>:3: ..." so the admin knows where to look."""
    path = write_csv(tmp_path, CENTRE, "east-01,east,东一,East 1,,", name="broken.csv")
    raw = {**GOOD_CONFIG, "areas": {"file": "broken.csv"}}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={}, base_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"areas.file: {path}:3: ")
    assert "unknown parent 'east'" in message


def test_a_missing_area_file_stops_the_config(tmp_path: Path) -> None:
    """An [areas] file that is not there stops start-up under areas.file."""
    raw = {**GOOD_CONFIG, "areas": {"file": "missing.csv"}}
    with pytest.raises(ConfigError, match=r"^areas\.file: .*missing\.csv: file not found"):
        parse_config(raw, env={}, base_dir=tmp_path)


def test_more_areas_under_one_parent_than_a_screen_of_buttons_is_refused(
    tmp_path: Path,
) -> None:
    """91 stations under one institute cannot be offered as buttons: refused at the 91st."""
    rows = ["centre,,中心,Centre,,", "east,centre,东,East,,"]
    rows += [f"east-{n:02d},east,东{n},East {n},," for n in range(1, 92)]
    path = write_csv(tmp_path, *rows)
    message = refusal(path)
    assert "more than 90 areas under it" in message
    assert line_named(message, path) == 2 + 1 + 91
