"""`make demo`: the real bot process against the sandbox, one request through the whole loop.

A scripted citizen (王奶奶, in Chinese), two volunteers and an admin play 点单 → 派单 → 接单 →
评单 while the conversation is printed as it happens.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import tempfile
from pathlib import Path

from bot.areas import load_areas
from sandbox import Limits, Sandbox, SimChat, SimMessage, SimUser

TOKEN = "123456:DEMO-token"
ROOT = Path(__file__).resolve().parent.parent
AREAS = Path(__file__).resolve().parent / "data" / "areas-shizhong.csv"  # 1 + 11 + 158 areas
HOME = (34.8617, 117.5559)  # where 王奶奶 lives


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


def write_config(folder: Path, sb: Sandbox, admin: SimUser, admin_chat: SimChat) -> Path:
    """A config for the demo: sandbox URLs, a fresh database, the district's categories."""
    example = (ROOT / "config.example.toml").read_text("utf-8")
    example = example.replace('base_url = ""', f'base_url = "{sb.base_url}"')
    example = example.replace('base_file_url = ""', f'base_file_url = "{sb.base_file_url}"')
    example = example.replace("admin_ids = []", f"admin_ids = [{admin.id}]")
    example = example.replace("admin_chat_id = 0", f"admin_chat_id = {admin_chat.id}")
    example = example.replace("poll_timeout = 10", "poll_timeout = 2")
    example = example.replace('file = "areas.example.csv"', f'file = "{AREAS}"')
    example = example.replace('teams_file = "teams.example.csv"',
                              f'teams_file = "{ROOT / "teams.example.csv"}"')
    # The clock, accelerated: environment requests are reminded after 3 s and escalated
    # after 6 s.
    example = example.replace('code = "environment"\nzh = "生活环境"\nen = "Living environment"',
                              'code = "environment"\nzh = "生活环境"\nen = "Living environment"'
                              '\nclaim_reminder = "3s"\nescalate_after = "6s"')
    path = folder / "config.toml"
    path.write_text(example, "utf-8")
    return path


def step(title: str) -> None:
    """Print a heading for the next part of the story."""
    print(f"\n━━ {title} ━━", flush=True)


async def describe(citizen: SimUser, category: str, text: str) -> None:
    """Open the form from the menu, pick the category and describe the problem."""
    await citizen.press("📝 新建诉求")
    await citizen.wait_for(text="哪一类帮助")
    await citizen.press(category)
    await citizen.wait_for(text="请说明情况")
    await citizen.send(text)


async def play(sb: Sandbox, admin: SimUser, volunteers: SimChat, admin_chat: SimChat) -> None:
    """Run the story."""
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

    step("The clock (accelerated): a request nobody claims is reminded, then escalated")
    await describe(grandma, "生活环境", "楼道里的垃圾好几天没人清理了。")
    await grandma.wait_for(text="在哪里")
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
    await grandma.wait_for(text="转交服务中心", timeout=20)

    step("The admin checks today's numbers: the figures at once, the chart right after")
    await admin.send("/stats today", chat=admin_chat)
    await admin_chat.wait_for(text="办结率")
    chart = await admin_chat.wait_for(predicate=lambda m: m.kind == "photo", timeout=60)
    png = bytes(sb.world.files[chart.file_ids[-1]].data)
    saved = Path(tempfile.gettempdir()) / "civicloop-demo-stats.png"
    saved.write_bytes(png)
    print(f"  📊 chart: a {len(png) // 1024} KB PNG, saved to {saved}")
    print(f"\nDone: {ref.group(0)} went round the whole loop; {second_ref.group(0)} was reminded "
          f"and escalated; /stats answered with its figures and a chart. "
          f"429s received: {sb.count_429}.")


async def main() -> int:
    """Start the sandbox and the bot process, play the story, stop both."""
    async with Sandbox(token=TOKEN, limits=Limits()) as sb:
        admin = sb.add_user("管理员", language_code="zh")
        volunteers = sb.add_group("助老志愿者群")
        admin_chat = sb.add_group("管理员群")
        volunteers.add_member(admin, status="administrator")
        admin_chat.add_member(admin, status="administrator")
        sb.on_event(show)
        with tempfile.TemporaryDirectory() as folder:
            config = write_config(Path(folder), sb, admin, admin_chat)
            print(f"sandbox: {sb.base_url}; starting the bot: python -m bot --config {config}")
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(config), "--log-level", "WARNING",
                env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}, cwd=ROOT,
            )
            try:
                await sb.wait_until(lambda: sb.polls_started > 0 or bot.returncode is not None,
                                    timeout=30)
                if bot.returncode is not None:
                    print("the bot did not start", file=sys.stderr)
                    return 1
                await play(sb, admin, volunteers, admin_chat)
            finally:
                if bot.returncode is None:
                    bot.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(bot.wait(), timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
