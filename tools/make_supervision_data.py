"""Write the model district's supervision registers (issue 16.1) from its area file.

    python tools/make_supervision_data.py
    # writes sandbox/data/inspection-points-shizhong.csv and responsible-units-shizhong.csv

The district reports 129 main roads, each with a road chief (路长); beside them its markets,
back alleys, residential communities (one per community station of the area file) and schools.
The names are made up but shaped like the district's; the output is deterministic, so the files
are committed and this script only documents where they came from.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sandbox" / "data"
AREAS = DATA / "areas-shizhong.csv"

# 43 road names × 路 / 街 / 大道 = 129 main roads.
ROAD_WORDS = [
    ("光明", "Guangming"), ("建设", "Jianshe"), ("人民", "Renmin"), ("解放", "Jiefang"),
    ("中心", "Zhongxin"), ("文化", "Wenhua"), ("振兴", "Zhenxing"), ("和平", "Heping"),
    ("幸福", "Xingfu"), ("胜利", "Shengli"), ("新华", "Xinhua"), ("青年", "Qingnian"),
    ("团结", "Tuanjie"), ("民主", "Minzhu"), ("育才", "Yucai"), ("府前", "Fuqian"),
    ("东风", "Dongfeng"), ("朝阳", "Chaoyang"), ("长江", "Changjiang"), ("黄河", "Huanghe"),
    ("泰山", "Taishan"), ("龙山", "Longshan"), ("凤凰", "Fenghuang"), ("金山", "Jinshan"),
    ("银河", "Yinhe"), ("君山", "Junshan"), ("峄城", "Yicheng"), ("齐村", "Qicun"),
    ("税郭", "Shuiguo"), ("孟庄", "Mengzhuang"), ("永安", "Yong'an"), ("矿区", "Kuangqu"),
    ("垎塔埠", "Getabu"), ("西昌", "Xichang"), ("北安", "Bei'an"), ("南马", "Nanma"),
    ("华山", "Huashan"), ("衡山", "Hengshan"), ("嵩山", "Songshan"), ("恒山", "Hengshan North"),
    ("枣庄", "Zaozhuang"), ("薛城", "Xuecheng"), ("台儿庄", "Tai'erzhuang"),
]
SUFFIXES = [("路", "Road"), ("街", "Street"), ("大道", "Avenue")]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "国强", "秀英", "桂英", "志刚", "明华", "红梅", "海燕", "伟", "静", "磊",
         "洋", "勇", "军", "杰", "娟", "涛", "超", "霞", "平"]


def main() -> None:
    """Write both files."""
    rng = random.Random(16)
    with AREAS.open(encoding="utf-8") as f:
        areas = list(csv.DictReader(f))
    institutes = [a for a in areas if a["parent_id"] == "centre"]
    stations = [a for a in areas if a["parent_id"] not in ("", "centre")]

    units = [
        ("urban-management", "区综合行政执法局", "District Urban Management Bureau", "centre"),
        ("market-regulation", "区市场监督管理局", "District Market Regulation Bureau", "centre"),
        ("education", "区教育和体育局", "District Education and Sports Bureau", "centre"),
        ("housing", "区住房和城乡建设局", "District Housing and Construction Bureau", "centre"),
    ]
    office: dict[str, str] = {}
    for inst in institutes:
        short_zh = inst["name_zh"].replace("新时代文明实践所", "")
        short_en = inst["name_en"].replace(" Practice Institute", "")
        town = short_zh.endswith("镇")
        unit_id = f"{inst['id']}-office"
        office[inst["id"]] = unit_id
        units.append((unit_id, short_zh + ("人民政府" if town else "办事处"),
                      short_en + (" Government" if town else " Office"), inst["id"]))

    points: list[tuple[str, ...]] = []

    def near(area: dict[str, str], spread: float) -> tuple[str, str]:
        lat = float(area["lat"]) + rng.uniform(-spread, spread)
        lon = float(area["lon"]) + rng.uniform(-spread, spread)
        return f"{lat:.5f}", f"{lon:.5f}"

    number = 0
    for word_zh, word_en in ROAD_WORDS:
        for suffix_zh, suffix_en in SUFFIXES:
            inst = institutes[number % len(institutes)]
            number += 1
            chief = rng.choice(SURNAMES) + rng.choice(GIVEN)
            points.append((f"road-{number:03d}", word_zh + suffix_zh, f"{word_en} {suffix_en}",
                           "road", inst["id"], "urban-management", chief, *near(inst, 0.01)))
    for n, inst in enumerate(institutes[:7] * 2, 1):  # 14 markets
        short_zh = inst["name_zh"].replace("新时代文明实践所", "").removesuffix("街道")
        short_en = inst["name_en"].split()[0]
        kind_zh, kind_en = (("农贸市场", "Farmers' Market") if n <= 7
                            else ("综合市场", "General Market"))
        points.append((f"market-{n:02d}", short_zh + kind_zh, f"{short_en} {kind_en}", "market",
                       inst["id"], "market-regulation", "", *near(inst, 0.008)))
    for n in range(1, 23):  # 22 back alleys
        inst = institutes[n % len(institutes)]
        word_zh, word_en = ROAD_WORDS[(n * 7) % len(ROAD_WORDS)]
        points.append((f"alley-{n:02d}", f"{word_zh}巷{n}号", f"{word_en} Lane {n}", "alley",
                       inst["id"], office[inst["id"]], "", *near(inst, 0.006)))
    for station in stations:  # one residential community per community station
        name_zh = station["name_zh"].replace("新时代文明实践站", "")
        name_en = station["name_en"].replace(" Practice Station", "")
        points.append((f"community-{station['id']}"[:32], name_zh, name_en, "community",
                       station["id"], office[station["parent_id"]], "",
                       station["lat"], station["lon"]))
    for n, inst in enumerate(institutes + institutes[:1], 1):  # 12 schools
        short_zh = inst["name_zh"].replace("新时代文明实践所", "").removesuffix("街道")
        short_en = inst["name_en"].split()[0]
        points.append((f"school-{n:02d}", f"{short_zh}{'第二' if n == 12 else ''}实验小学",
                       f"{short_en} Experimental Primary School" + (" 2" if n == 12 else ""),
                       "school", inst["id"], "education", "", *near(inst, 0.006)))

    with (DATA / "responsible-units-shizhong.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("id", "name_zh", "name_en", "area_id", "contact_id"))
        for unit in units:
            writer.writerow((*unit, ""))
    with (DATA / "inspection-points-shizhong.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("id", "name_zh", "name_en", "kind", "area_id", "unit_id",
                         "road_chief", "lat", "lon"))
        writer.writerows(points)
    print(f"{len(points)} points, {len(units)} units")


if __name__ == "__main__":
    main()
