"""`make demo`: the real bot process against the sandbox, one request through the whole loop.

A scripted citizen (王奶奶, in Chinese), two volunteers and an admin play 点单 → 派单 → 接单 →
评单 while the conversation is printed as it happens. Loop 1 also shows the duplicate check (a
neighbour joins 王奶奶's open request), reporting for a neighbour (/forneighbour), and the bot's
public web server on a free local port: a 12345 hotline's request POSTed over Open311 (aiohttp,
a client key made for the run) and its status read back, and the public results page fetched.

The bot's clock is the demo's, not the machine's: it starts at a fixed morning (`--at` picks
another moment, e.g. 23:30 to see quiet hours hold a citizen's notice until 08:00).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import aiohttp

from bot.areas.tree import load_areas
from bot.config import Config, load_config
from bot.night import quiet_until
from sandbox import Limits, Sandbox, SimChat, SimMessage, SimUser

TOKEN = "123456:DEMO-token"
ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
AREAS = DATA / "areas-shizhong.csv"  # 1 + 11 + 158 areas
HOME = (34.8617, 117.5559)  # where 王奶奶 lives
# Where 陈阿姨, her downstairs neighbour, stands: 60 m north (a degree of latitude is 111.2 km).
NEIGHBOUR = (HOME[0] + 60 / 111_195, HOME[1])
HOTLINE_CALL = (34.8463, 117.5512)  # the address a 12345 caller gave, in 光明路街道
# When the demo's day begins: a Friday morning in the district (the machine's clock plays no
# part, so the demo tells the same story at any hour).
DEFAULT_START = "2026-12-04T09:30:00+08:00"
QUIET_MARGIN = 10.0  # seconds: how long before the demo saw the escalation it may have happened
VENUE = (34.846, 117.551)  # the activity's map point: Guangminglu in the model district


def show(kind: str, chat: SimChat, message: SimMessage | None, detail: str) -> None:
    """Print one event of the conversation."""
    if kind == "bot_message" and message is not None:
        body = message.text or f"[{message.kind}]"
        buttons = message.buttons or message.reply_keyboard
        line = f"  🤖 → {chat.label}: {body}"
        if buttons:
            line += "\n      " + "  ".join(f"[{b}]" for b in buttons)
    elif kind == "bot_edit" and message is not None:
        first_line = (message.text or "").splitlines()[0]
        line = f"  ✏️  {chat.label}: card now reads: {first_line}"
    elif kind == "user_message" and message is not None:
        who = message.raw.get("from", {}).get("first_name", "?")
        body = message.text or f"[{message.kind}]"
        line = f"👤 {who} in {chat.label}: {body}"
    elif kind == "user_press" and message is not None:
        label = next((k for k, v in message.button_data.items() if v == detail), detail)
        line = f"👆 [{label}] pressed in {chat.label}"
    elif kind == "callback_answer":
        if not detail:
            return
        line = f"  💬 popup: {detail}"
    else:
        return
    print(line, flush=True)


class Web(NamedTuple):
    """The bot's public web server as the demo reaches it: its address and the hotline's key."""

    url: str
    key: str

    @property
    def port(self) -> int:
        return int(self.url.rpartition(":")[2])


def free_port() -> int:
    """A local TCP port nobody listens on now, for the bot's public web server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def replaced(text: str, old: str, new: str) -> str:
    """`text` with `old` replaced by `new`; `old` must be there (the example file changed?)."""
    if old not in text:
        raise RuntimeError(f"config.example.toml no longer has {old!r}: update sandbox/demo.py")
    return text.replace(old, new)


def write_config(folder: Path, sb: Sandbox, admin: SimUser, admin_chat: SimChat,
                 web_port: int, api_key: str) -> Path:
    """A config for the demo: sandbox URLs, a fresh database, the district's categories, and
    the public web server on `web_port` with the Open311 API on for one client, the 12345
    hotline, whose key (made for this run) sits in a clients file of its own."""
    example = (ROOT / "config.example.toml").read_text("utf-8")
    example = example.replace('base_url = ""', f'base_url = "{sb.base_url}"')
    example = example.replace('base_file_url = ""', f'base_file_url = "{sb.base_file_url}"')
    example = example.replace("admin_ids = []", f"admin_ids = [{admin.id}]")
    example = example.replace("admin_chat_id = 0", f"admin_chat_id = {admin_chat.id}")
    example = example.replace("poll_timeout = 10", "poll_timeout = 2")
    example = example.replace('file = "areas.example.csv"', f'file = "{AREAS}"')
    example = example.replace('teams_file = "teams.example.csv"',
                              f'teams_file = "{ROOT / "teams.example.csv"}"')
    example = example.replace('themes_file = "themes.example.toml"',
                              f'themes_file = "{ROOT / "themes.example.toml"}"')
    example = example.replace('points_file = "inspection-points.example.csv"',
                              f'points_file = "{DATA / "inspection-points-shizhong.csv"}"')
    example = example.replace('units_file = "responsible-units.example.csv"',
                              f'units_file = "{DATA / "responsible-units-shizhong.csv"}"')
    example = example.replace('types_file = "problem-types.example.toml"',
                              f'types_file = "{ROOT / "problem-types.example.toml"}"')
    # The clock, accelerated: environment requests are reminded after 3 s and escalated
    # after 6 s.
    example = example.replace('code = "environment"\nzh = "生活环境"\nen = "Living environment"',
                              'code = "environment"\nzh = "生活环境"\nen = "Living environment"'
                              '\nclaim_reminder = "3s"\nescalate_after = "6s"')
    example = replaced(example, "[web]\n", f'[web]\nlisten = "127.0.0.1:{web_port}"\n')
    clients = folder / "open311-clients.toml"
    clients.write_text('clients = [{ id = "hotline", name = "12345 热线", key = '
                       f'"{api_key}" }}]\n', "utf-8")
    clients.chmod(0o600)
    example = replaced(example, "enabled = false\n# Where a posted request goes",
                       "enabled = true\n# Where a posted request goes")
    example = replaced(example, '# clients_file = "open311-clients.toml"',
                       f'clients_file = "{clients}"')
    path = folder / "config.toml"
    path.write_text(example, "utf-8")
    return path


def step(title: str) -> None:
    """Print a heading for the next part of the story."""
    print(f"\n━━ {title} ━━", flush=True)


async def open_form(citizen: SimUser) -> None:
    """Open the form from the menu (agreeing to the privacy notice, before the first one)."""
    await citizen.press("📝 新建诉求")
    first = await citizen.wait_for(predicate=lambda m: any(
        words in (m.text or "") for words in ("哪一类帮助", "关于您的个人信息")))
    if "关于您的个人信息" in (first.text or ""):  # the privacy notice comes before the first form
        await citizen.press("✅ 同意并继续", message=first)
        await citizen.wait_for(text="哪一类帮助")


async def describe(citizen: SimUser, category: str, text: str) -> None:
    """Open the form from the menu, pick the category and describe the problem."""
    await open_form(citizen)
    await citizen.press(category)
    await citizen.wait_for(text="请说明情况")
    await citizen.send(text)


def quiet_hours_end(bot: BotProcess, config: Config) -> tuple[datetime, bool] | None:
    """When the quiet hours the escalation may have fallen in end (local), and whether it
    surely fell in them; None if it surely did not.

    The bot escalated a moment before the demo saw it: the window covers that moment."""
    schedule, tz = config.schedule, config.timezone
    latest = bot.now()
    ends = [quiet_until(at, schedule.quiet_start, schedule.quiet_end, tz)
            for at in (latest - QUIET_MARGIN, latest)]
    known = [end for end in ends if end is not None]
    if not known:
        return None
    return datetime.fromtimestamp(known[0], tz), len(known) == len(ends)


async def play(sb: Sandbox, bot: BotProcess, config: Config, web: Web, admin: SimUser,
               volunteers: SimChat, admin_chat: SimChat, loops: int = 3) -> None:
    """Run the story: the citizen requests (one joined by a neighbour, one filed by a helper
    for a neighbour, one from the 12345 hotline over Open311, and the public results page),
    then (`loops` 2 and 3) an activity and a supervision problem."""
    grandma = sb.add_user("王奶奶", language_code="zh", phone="+8613800000002")
    li = sb.add_user("李明", language_code="zh")
    zhang = sb.add_user("Zhang", language_code="en")
    volunteers.add_member(li)
    volunteers.add_member(zhang)

    step("The admin binds the group: 助老服务 for the whole district, 生活环境 for 光明路街道")
    await admin.send("/bind elderly", chat=volunteers)
    await volunteers.wait_for(text="本群", timeout=15)
    await admin.send("/bind environment guangminglu", chat=volunteers)
    await volunteers.wait_for(text="生活环境", timeout=15)

    step("Volunteers open the bot once, so it may write to them")
    await li.send("/start")
    await li.wait_for(text="您好")
    await zhang.send("/start")
    await zhang.wait_for(text="Hello")

    step("点单 — 王奶奶 files a request")
    await grandma.send("/start")
    await grandma.wait_for(text="您好")
    await describe(grandma, "助老服务", "家里水管漏水了，我年纪大修不了，麻烦派人来看看。")
    await grandma.wait_for(text="在哪里")
    await grandma.tap("📍 发送我的位置", latitude=HOME[0], longitude=HOME[1])
    await grandma.wait_for(text="最近的社区")
    nearest = load_areas(AREAS).nearest(HOME[0], HOME[1], 1)[0]
    await grandma.press(nearest.name("zh"))
    await grandma.wait_for(text="怎么联系您")
    await grandma.tap("📞 发送我的手机号")
    await grandma.wait_for(text="内容都对吗")
    await grandma.press("✅ 确认提交")
    receipt = await grandma.wait_for(text="编号")
    ref = re.search(r"\d{4}-\d{6}", receipt.text or "")
    assert ref, receipt.text

    step("派单 — the card reaches the volunteer group; 接单 — both volunteers press Claim")
    card = await volunteers.wait_for(text=ref.group(0))
    presses = await asyncio.gather(
        li.press("🙋 接单", chat=volunteers, message=card),
        zhang.press("🙋 接单", chat=volunteers, message=card),
    )
    answers = await asyncio.gather(*(p.answer() for p in presses))
    winner = li if "接单成功" in (answers[0].text or "") else zhang
    done_label = "✅ 办结" if winner is li else "✅ Done"
    await winner.wait_for(predicate=lambda m: done_label in m.buttons)

    chen = await join_as_neighbour(sb, volunteers, card, ref.group(0))

    step("The masked chat — 王奶奶 and the volunteer talk through the bot, accounts unseen")
    notice = await grandma.wait_for(text="已有志愿者接了您的诉求")
    await grandma.press("💬 给志愿者留言", message=notice)
    await grandma.wait_for(text="转给接单的志愿者")
    await grandma.send("门铃坏了，到了请敲门。")
    relayed = await winner.wait_for(text="来自居民" if winner is li else "From the citizen")
    await winner.press("↩️ 回复" if winner is li else "↩️ Reply", message=relayed)
    await winner.wait_for(text="转给这位居民" if winner is li else "goes to the citizen")
    await winner.send("好的，十点到，我会敲门。" if winner is li else "OK, I will knock at ten.")
    await grandma.wait_for(text="来自志愿者")

    step(f"The winner, {winner.first_name}, does the job and presses Done")
    await winner.press(done_label)
    await winner.wait_for(predicate=lambda m: bool(m.buttons))
    await winner.send("已更换水管接头，不再漏水。" if winner is li else "Replaced the joint.")
    await winner.wait_for(text="多长时间" if winner is li else "How long")
    await winner.press("1 小时" if winner is li else "1 h")

    step("评单 — 王奶奶 confirms and rates")
    await grandma.wait_for(text="解决了吗")
    await grandma.press("👍 已解决")
    await grandma.wait_for(text="打个分")
    await grandma.press("⭐⭐⭐⭐⭐")
    await grandma.wait_for(text="想说的")
    await grandma.send("志愿者很热心，谢谢！")
    await grandma.wait_for(text="感谢您的评价")
    closed = await chen.wait_for(text="请为这次服务打分")
    await chen.press("⭐⭐⭐⭐", message=closed)
    await chen.wait_for(text="感谢您的评价：4 星")

    step("王奶奶 just says what is wrong: the likely category comes first, she taps it")
    await open_form(grandma)
    await grandma.send("楼道里的垃圾好几天没人清理了。")
    await grandma.wait_for(text="看起来是「生活环境」")
    starred = await grandma.wait_for(text="哪一类帮助")
    await grandma.press("⭐ 建议：生活环境", message=starred)
    await grandma.wait_for(text="在哪里")

    step("The clock (accelerated): a request nobody claims is reminded, then escalated")
    await grandma.send("光明路 5 号楼")
    await grandma.wait_for(text="请先点所在的街道")
    await grandma.press("光明路街道新时代文明实践所")
    await grandma.wait_for(text="的哪个社区")
    await grandma.press("光明路第1社区新时代文明实践站")
    await grandma.wait_for(text="怎么联系您")
    await grandma.tap("跳过")
    await grandma.wait_for(text="内容都对吗")
    await grandma.press("✅ 确认提交")
    second = await grandma.wait_for(text="编号")
    second_ref = re.search(r"\d{4}-\d{6}", second.text or "")
    assert second_ref, second.text
    await volunteers.wait_for(text="仍在等待志愿者", timeout=20)
    await admin_chat.wait_for(text="已升级", timeout=20)
    night = quiet_hours_end(bot, config)
    if night is None:
        await grandma.wait_for(text="转交服务中心", timeout=20)
    else:
        print(f"  🌙 quiet hours ({config.schedule.quiet_start:%H:%M}-"
              f"{config.schedule.quiet_end:%H:%M}): the notice to 王奶奶 is held until "
              f"{night[0]:%H:%M}; the group and the admins were told at once", flush=True)

    step("The admin checks today's numbers: the figures at once, the chart right after")
    await admin.send("/stats today", chat=admin_chat)
    await admin_chat.wait_for(text="办结率")
    chart = await admin_chat.wait_for(predicate=lambda m: m.kind == "photo", timeout=60)
    png = bytes(sb.world.files[chart.file_ids[-1]].data)
    saved = Path(tempfile.gettempdir()) / "civicloop-demo-stats.png"
    saved.write_bytes(png)
    print(f"  📊 chart: a {len(png) // 1024} KB PNG, saved to {saved}")

    if night is not None:
        morning, surely_held = night
        step(f"The night passes: the bot restarts at {morning:%H:%M} and 王奶奶 gets the notice")
        if surely_held and bot.now() < morning.timestamp():
            assert not any("转交服务中心" in (m.text or "") for m in grandma.private.unread()), \
                "quiet hours did not hold the citizen's notice"
        await bot.stop()
        if not await bot.start(sb, morning + timedelta(seconds=30)):
            raise RuntimeError("the bot did not start again in the morning")
        await grandma.wait_for(text="转交服务中心", timeout=20)
    held = "" if night is None else f" (its citizen told at {night[0]:%H:%M}, after quiet hours)"
    helped = await report_for_neighbour(sb, admin, admin_chat, volunteers, li)
    posted, status = await hotline_call(web, volunteers, zhang)
    received = await results_page(web)
    told = [f"{ref.group(0)} went round the whole loop (its citizen and volunteer talking "
            "through the bot; a neighbour joined it, +1, and rated it too)",
            f"{second_ref.group(0)} was reminded and escalated{held}",
            "/stats answered with its figures and a chart",
            f"{helped} was filed by a helper for a neighbour and confirmed by phone",
            f"{posted} came in over Open311 from the 12345 hotline and read back as {status}",
            f"the public results page counted {received} requests received this year"]
    if loops >= 2:
        credited = await play_activity(sb, bot, config, admin, li, volunteers)
        told.append(f"activity #1 was published, signed up for, checked into and out of, and "
                    f"{credited} h credited")
    if loops >= 3:
        problem = await play_supervision(sb, admin)
        told.append(f"problem {problem} was reported, rectified, rejected once, rectified "
                    f"again and passed")
    print(f"\nDone: {'; '.join(told)}. 429s received: {sb.count_429}.")


async def join_as_neighbour(sb: Sandbox, volunteers: SimChat, card: SimMessage,
                            ref: str) -> SimUser:
    """The duplicate check: 陈阿姨 downstairs reports the same leak 60 m away, is shown 王奶奶's
    open request and joins it instead of filing it again; the group's card counts her."""
    step(f"重复检查 — 陈阿姨 downstairs reports the same leak; she is shown {ref} and joins it")
    chen = sb.add_user("陈阿姨", language_code="zh", phone="+8613800000003")
    await chen.send("/start")
    await chen.wait_for(text="您好")
    await describe(chen, "助老服务", "楼上王奶奶家的水管漏水，水都渗到我家厨房了。")
    await chen.wait_for(text="在哪里")
    await chen.tap("📍 发送我的位置", latitude=NEIGHBOUR[0], longitude=NEIGHBOUR[1])
    entry = await chen.wait_for(text="已有人在")
    await chen.wait_for(text="继续提交我的诉求")  # the other choice: file her own after all
    await chen.press("🤝 是同一件事，我也关注", message=entry)
    await chen.wait_for(text="您已关注诉求")
    plus = "另有 1 位邻居也报了这件事"
    await sb.wait_until(lambda: plus in (card.text or ""), timeout=15)
    print(f"  ✏️  {volunteers.label}: the card of {ref} now also reads: "
          f"{next(line for line in (card.text or '').splitlines() if plus in line)}", flush=True)
    return chen


async def report_for_neighbour(sb: Sandbox, admin: SimUser, admin_chat: SimChat,
                               volunteers: SimChat, li: SimUser) -> str:
    """Reporting for a neighbour: 刘阿姨 registers as a volunteer and is approved, files a
    request for 赵奶奶 (no smartphone), 李明 does it, and 刘阿姨 records 赵奶奶's confirmation by
    phone and her stars. The request's reference."""
    step("帮办员 — 刘阿姨 registers as a volunteer (/join) and the admin approves her")
    liu = sb.add_user("刘阿姨", language_code="zh", phone="+8613800000004")
    await liu.send("/start")
    await liu.wait_for(text="您好")
    await liu.send("/join")
    await liu.wait_for(text="请输入您的姓名")
    await liu.send("刘秀兰")
    await liu.wait_for(text="发送您的手机号")
    await liu.tap("📞 发送我的手机号")
    await liu.wait_for(text="哪个区域")
    await liu.press("光明路街道新时代文明实践所")
    await liu.wait_for(text="哪个社区")
    await liu.press("光明路第1社区新时代文明实践站")
    await liu.wait_for(text="加入哪支队伍")
    await liu.press("光明路红马甲服务队")
    await liu.wait_for(text="登记已提交")
    review = await admin_chat.wait_for(text="姓名：刘秀兰")
    await admin.press("✅ 通过", chat=admin_chat, message=review)
    await liu.wait_for(text="已通过")

    step("为邻居报事 — 刘阿姨 files for 赵奶奶, who has no smartphone; 李明 does it")
    await liu.send("/forneighbour")
    await liu.wait_for(text="哪一类帮助")
    await liu.press("助老服务")
    await liu.wait_for(text="请说明情况")
    await liu.send("赵奶奶家卫生间的灯坏了，她一个人住，晚上看不清，怕摔倒。")
    await liu.wait_for(text="在哪里")
    await liu.send("光明路 8 号楼 2 单元 301")
    await liu.wait_for(text="请先点所在的街道")
    await liu.press("光明路街道新时代文明实践所")
    await liu.wait_for(text="的哪个社区")
    await liu.press("光明路第1社区新时代文明实践站")
    await liu.wait_for(text="邻居怎么称呼")
    await liu.send("赵奶奶")
    await liu.wait_for(text="邻居的电话是多少")
    await liu.send("0632-7654321")  # her landline
    await liu.wait_for(text="邻居的住址是哪里")
    await liu.tap("🏠 与上面的地点相同")
    await liu.wait_for(text="的号码也给接单的志愿者")
    await liu.tap("不用，只给邻居的")
    await liu.wait_for(text="内容都对吗")
    await liu.press("✅ 确认提交")
    receipt = await liu.wait_for(text="编号")
    ref = re.search(r"\d{4}-\d{6}", receipt.text or "")
    assert ref, receipt.text
    card = await volunteers.wait_for(text=ref.group(0))
    await li.press("🙋 接单", chat=volunteers, message=card)
    task = await li.wait_for(text="赵奶奶", predicate=lambda m: "✅ 办结" in m.buttons)
    await li.press("✅ 办结", message=task)
    await li.wait_for(predicate=lambda m: bool(m.buttons))
    await li.send("换了新灯泡，卫生间亮了。")
    await li.wait_for(text="多长时间")
    await li.press("1 小时")

    step("刘阿姨 phones 赵奶奶 and records it: confirmed by phone, five stars")
    question = await liu.wait_for(text="请问一问邻居")
    await liu.press("📞 已解决：电话确认", message=question)
    await liu.wait_for(text="邻居给")
    await liu.press("⭐⭐⭐⭐⭐")
    await liu.wait_for(text="想说的")
    await liu.send("赵奶奶说灯亮了，谢谢小李！")
    await liu.wait_for(text="您的诉求已关闭")
    return ref.group(0)


async def hotline_call(web: Web, volunteers: SimChat, zhang: SimUser) -> tuple[str, str]:
    """Open311: the 12345 hotline's system POSTs a caller's request over real HTTP; it reaches
    the volunteers' group like any other, Zhang claims it, and the hotline GETs its status
    back. The reference and the status read back (with its notes)."""
    api = f"{web.url}/open311/v2"
    step(f"Open311 — the 12345 hotline's system files a caller's request: POST "
         f"{api}/requests.json")
    async with aiohttp.ClientSession() as http:
        form = {"api_key": web.key, "service_code": "elderly", "lat": str(HOTLINE_CALL[0]),
                "long": str(HOTLINE_CALL[1]), "first_name": "孙", "phone": "13800138000",
                "description": "市民来电：独居老人家门锁坏了，晚上锁不上门。"}
        shown = ", ".join(f"{k}={v}" for k, v in form.items() if k != "api_key")
        print(f"  🌐 the form sent: {shown}, and the hotline's api_key (not shown)", flush=True)
        async with http.post(f"{api}/requests.json", data=form) as answer:
            body = await answer.json()
            print(f"  🌐 → {answer.status} {json.dumps(body, ensure_ascii=False)}", flush=True)
            if answer.status != 201:
                raise RuntimeError(f"the Open311 POST was refused: {answer.status} {body}")
        ref = str(body[0]["service_request_id"])
        card = await volunteers.wait_for(text=ref, timeout=15)
        await zhang.press("🙋 接单", chat=volunteers, message=card)
        await zhang.wait_for(text=ref, predicate=lambda m: "✅ Done" in m.buttons)
        async with http.get(f"{api}/requests/{ref}.json") as answer:
            status = (await answer.json())[0] if answer.status == 200 else {}
            print(f"  🌐 GET {api}/requests/{ref}.json → {answer.status}: status "
                  f"{status.get('status')!r}, status_notes {status.get('status_notes')!r}",
                  flush=True)
        if status.get("status") != "open":
            raise RuntimeError(f"the hotline read {ref} back as {status!r}")
    return ref, f"{status['status']} ({status.get('status_notes')})"


async def results_page(web: Web) -> str:
    """The public results page, fetched once: the year's requests received, as it shows them."""
    url = f"{web.url}/results"
    step(f"The public results page: {url}")
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        page = await answer.text()
    received = re.search(r'data-figure="year\.received">(\d+)<', page)
    print(f"  🌐 GET {url} → {answer.status}, {len(page) // 1024} KB of HTML; requests received "
          f"this year: {received.group(1) if received else '?'}", flush=True)
    if answer.status != 200 or received is None:
        raise RuntimeError(f"the results page answered {answer.status} without its figures")
    return received.group(1)


async def play_supervision(sb: Sandbox, admin: SimUser) -> str:
    """Loop 3: the admin makes an inspector and binds the sub-district office's group; the
    inspector reports piled rubbish at a community with a before photo; the office receives
    and rectifies it with an after photo; the inspector rejects the first rectification and
    passes the second. The problem's reference."""
    zhao = sb.add_user("赵督导", language_code="zh")
    wang = sb.add_user("王主任", language_code="zh")
    office = sb.add_group("光明路街道办工作群")
    office.add_member(admin, status="administrator")
    office.add_member(wang)
    for person in (zhao, wang):
        await person.send("/start")
        await person.wait_for(text="选择")

    step("Loop 3 — the admin makes an inspector and binds the responsible unit's group")
    await admin.send(f"/inspector add {zhao.id} 第一督导组")
    await zhao.wait_for(text="督导员")
    await admin.send("/patrol 第一督导组 area:guangminglu")
    await admin.wait_for(text="负责巡查")
    await admin.send("/bind unit guangminglu-office", chat=office)
    await office.wait_for(text="工作群")

    step("督导 — 赵督导 visits 光明路第1社区 and reports piled rubbish with a before photo")
    await zhao.send("/inspect")
    await zhao.wait_for(text="您在哪个点位")
    await zhao.send("光明路第1社区")
    found = await zhao.wait_for(text="发现问题了吗")
    await zhao.press("⚠️ 上报问题", message=found)
    await zhao.wait_for(text="什么问题")
    await zhao.press("垃圾堆积")
    await zhao.wait_for(text="整改前")
    await zhao.send_photo()
    await zhao.wait_for(text="已收到第 1 张照片")
    await zhao.press("➡️ 照片已发完")
    await zhao.wait_for(text="一两句话")
    await zhao.send("3号楼北侧垃圾堆了好几天，影响通行。")
    severity = await zhao.wait_for(text="严重程度")
    await zhao.press("🟠 一般：3 天", message=severity)
    preview = await zhao.wait_for(text="发送前请确认")
    await zhao.press("📨 发送给责任单位", message=preview)
    sent = await zhao.wait_for(text="已上报")
    ref = re.search(r"D\d{4}-\d{5}", sent.text or "")
    assert ref, sent.text
    done = await zhao.wait_for(text="结束巡查")
    await zhao.press("🏁 结束巡查", message=done)

    step(f"整改 — the office receives {ref.group(0)} and rectifies it with an after photo")
    card = await office.wait_for(text="督导问题")
    await wang.press("✅ 接收", message=card)
    await sb.wait_until(lambda: "已接收" in (card.text or ""), timeout=15)
    await rectify(wang, office, card)

    step("复查 — the inspector rejects the first rectification, the office does it again")
    question = await zhao.wait_for(text="是否已整改到位", timeout=15)
    await zhao.press("❌ 不通过", message=question)
    await zhao.wait_for(text="为什么没有整改到位")
    await zhao.send("垃圾清走了，但地面污渍还在。")
    await office.wait_for(text="复查未通过", timeout=15)
    await sb.wait_until(lambda: "🔧 已整改" in card.buttons, timeout=15)
    await rectify(wang, office, card)
    question = await zhao.wait_for(text="是否已整改到位", timeout=15)
    await zhao.press("✅ 通过", message=question)
    await sb.wait_until(lambda: "复查通过" in (card.text or ""), timeout=15)
    await office.wait_for(text="复查通过。谢谢", timeout=15)
    return ref.group(0)


async def rectify(wang: SimUser, office: SimChat, card: SimMessage) -> None:
    """The office's person presses Rectified and sends an after photo and a note."""
    await wang.press("🔧 已整改", message=card)
    await wang.wait_for(text="整改后")
    await wang.send_photo()
    await wang.wait_for(text="已收到整改后照片")
    await wang.send("已清理干净。")
    await wang.wait_for(text="已标记为已整改")


async def play_activity(sb: Sandbox, bot: BotProcess, config: Config, admin: SimUser,
                        li: SimUser, volunteers: SimChat) -> str:
    """Loop 2: the admin publishes an activity starting in 20 minutes, 李明 signs up from the
    card and checks in by location; the bot restarts after the activity's end, 李明 checks out,
    the admin confirms the attendance list and the hours are credited. The hours credited."""
    tz = config.timezone
    start = datetime.fromtimestamp(bot.now() + 20 * 60, tz).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    step(f"Loop 2 — the admin publishes an activity for {start:%H:%M}-{end:%H:%M}")
    await admin.send("/publish")
    await admin.wait_for(text="1/12", timeout=15)
    await admin.send("重阳节陪老人包饺子")
    await admin.wait_for(text="2/12")
    await admin.press("光明路红马甲服务队")
    await admin.wait_for(text="3/12")
    await admin.press("🏙 全区")
    await admin.wait_for(text="4/12")
    await admin.send("光明路社区活动中心")
    await admin.wait_for(text="5/12")
    await admin.send_location(*VENUE)
    await admin.wait_for(text="6/12")
    await admin.send(f"{start:%Y-%m-%d %H:%M}")
    await admin.wait_for(text="7/12")
    await admin.send(f"{end:%Y-%m-%d %H:%M}")
    await admin.wait_for(text="8/12")
    await admin.press("10")
    await admin.wait_for(text="9/12")
    await admin.press("🙋 我来带队")
    question = await admin.wait_for(predicate=lambda m: "10/12" in (m.text or "")
                                    or "11/12" in (m.text or ""))
    if "10/12" in (question.text or ""):  # the month has a theme
        await admin.press("🎯 主题", message=question)
        await admin.wait_for(text="11/12")
    await admin.press("跳过 ⏭")
    await admin.wait_for(text="12/12")
    await admin.send("和老人一起包饺子、聊天。请带围裙。")
    preview = await admin.wait_for(text="预览")
    await admin.press("✅ 发布", message=preview)
    await admin.wait_for(text="管理按钮", timeout=15)
    card = await volunteers.wait_for(text="志愿活动招募", timeout=15)

    step("李明 signs up from the card, and checks in on site by sharing his location")
    await li.press("🙋 我要报名", message=card)
    await li.wait_for(text="您已报名")
    await admin.press("📲 签到码")
    qr = await admin.wait_for(predicate=lambda m: m.kind == "photo", timeout=15)
    saved = Path(tempfile.gettempdir()) / "civicloop-demo-checkin.png"
    saved.write_bytes(bytes(sb.world.files[qr.file_ids[-1]].data))
    print(f"  📲 the organiser's check-in QR code (it changes every minute), saved to {saved}")
    await li.press("📍 现场签到")
    await li.wait_for(text="发送您的位置")
    await li.tap("📍 发送我的位置", latitude=VENUE[0] + 0.0005, longitude=VENUE[1])
    await li.wait_for(text="签到。谢谢")
    leaving = await li.wait_for(text="离开时")

    after = end + timedelta(minutes=5)
    step(f"The activity ends: the bot restarts at {after:%H:%M}; 李明 checks out, the admin "
         "confirms the hours")
    # The bot's clock jumps an hour at the restart, but the sandbox's flood limits run on real
    # time: let the private chats' allowance refill first, as that hour would have (a bot just
    # restarted cannot know how many messages it sent a moment ago).
    full = float(sb.limits.private_burst)
    await sb.wait_until(lambda: all(sb.limiter.private_room(person.id) >= full
                                    for person in (admin, li)), timeout=10)
    await bot.stop()
    if not await bot.start(sb, after):
        raise RuntimeError("the bot did not start again after the activity")
    await li.press("📍 现场签退", message=leaving)
    await li.wait_for(text="发送您的位置")
    await li.tap("📍 发送我的位置", latitude=VENUE[0], longitude=VENUE[1] + 0.0005)
    await li.wait_for(text="签退")
    await admin.press("✅ 确认出勤和时长")
    listing = await admin.wait_for(text="出勤名单", timeout=15)
    await admin.press("✅ 确认出勤和时长", message=listing)
    credited = await li.wait_for(text="记入")
    hours = re.search(r"记入 ([0-9.]+) 小时", credited.text or "")
    assert hours, credited.text
    await li.send("/hours")
    await li.wait_for(text="活动签到")
    return hours.group(1)


class BotProcess:
    """`python -m bot` as a child process, on a clock the demo sets."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: asyncio.subprocess.Process | None = None
        self._clock_start = 0.0
        self._launched = 0.0

    async def start(self, sb: Sandbox, at: datetime) -> bool:
        """Start the bot with its clock at `at`; True once it polls for updates."""
        polls = sb.polls_started
        self._clock_start, self._launched = at.timestamp(), time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(self.config), "--log-level", "WARNING",
            "--clock", at.isoformat(),
            env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}, cwd=ROOT,
        )
        proc = self.proc
        await sb.wait_until(lambda: sb.polls_started > polls or proc.returncode is not None,
                            timeout=30)
        return proc.returncode is None

    def now(self) -> float:
        """The bot's time, at the latest (its clock started a moment after the launch)."""
        return self._clock_start + (time.monotonic() - self._launched)

    async def stop(self) -> None:
        """Stop the bot the way an operator does (SIGTERM) and wait for it to exit."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), timeout=20)


async def main(argv: list[str] | None = None) -> int:
    """Start the sandbox and the bot process, play the story, stop both."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__)
    parser.add_argument("--at", default=DEFAULT_START, type=datetime.fromisoformat,
                        help=f"the moment the bot's clock starts at (default {DEFAULT_START})")
    parser.add_argument("--loops", type=int, choices=(1, 2, 3), default=3,
                        help="how many of the three loops to play (default all)")
    args = parser.parse_args(argv)
    start: datetime = args.at
    if start.tzinfo is None:
        parser.error("--at needs a UTC offset, e.g. 2026-12-04T23:30:00+08:00")
    async with Sandbox(token=TOKEN, limits=Limits()) as sb:
        admin = sb.add_user("管理员", language_code="zh")
        volunteers = sb.add_group("助老志愿者群")
        admin_chat = sb.add_group("管理员群")
        volunteers.add_member(admin, status="administrator")
        admin_chat.add_member(admin, status="administrator")
        sb.on_event(show)
        with tempfile.TemporaryDirectory() as folder:
            # The hotline's API key: made for this run, never a real secret, never printed.
            web = Web(f"http://127.0.0.1:{free_port()}", secrets.token_hex(24))
            path = write_config(Path(folder), sb, admin, admin_chat, web.port, web.key)
            config = load_config(path, env={"TELEGRAM_BOT_TOKEN": TOKEN})
            local = start.astimezone(config.timezone)
            print(f"sandbox: {sb.base_url}; starting the bot: python -m bot --config {path} "
                  f"--clock {start.isoformat()} (the bot's clock: {local:%Y-%m-%d %H:%M:%S})")
            bot = BotProcess(path)
            try:
                if not await bot.start(sb, start):
                    print("the bot did not start", file=sys.stderr)
                    return 1
                await play(sb, bot, config, web, admin, volunteers, admin_chat, args.loops)
            finally:
                await bot.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
