"""Messages and files as the sandbox stores them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .actors import SimChat, SimUser


@dataclass
class FileRecord:
    """A file the sandbox knows: uploaded by a user or the bot, addressable by file_id."""

    file_id: str
    file_unique_id: str
    kind: str  # photo | voice | document | sticker | audio | video | animation | video_note
    data: bytes
    file_path: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class SimMessage:
    """One message in a chat; `raw` is exactly the Message object the bot sees."""

    chat: SimChat
    raw: dict[str, Any]
    kind: str
    from_bot: bool
    sender: SimUser | None = None
    parse_mode: str | None = None
    edits: int = 0
    history: list[str] = field(default_factory=list)
    deleted: bool = False

    @property
    def message_id(self) -> int:
        """Id of the message, unique and increasing within its chat."""
        return int(self.raw["message_id"])

    @property
    def chat_id(self) -> int:
        """Id of the chat the message was posted in (before any migration)."""
        return int(self.raw["chat"]["id"])

    @property
    def thread_id(self) -> int | None:
        """The forum topic the message is in (None: a chat without topics, or General)."""
        return self.raw.get("message_thread_id") if self.raw.get("is_topic_message") else None

    @property
    def date(self) -> int:
        """Unix time the message was sent."""
        return int(self.raw["date"])

    @property
    def text(self) -> str | None:
        """Visible text or caption (HTML tags stripped, entities decoded)."""
        return self.raw.get("text", self.raw.get("caption"))

    @property
    def entities(self) -> list[dict[str, Any]]:
        """Entities of the text or caption."""
        return list(self.raw.get("entities", self.raw.get("caption_entities", [])))

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        """The reply_markup as the bot sent it (after edits)."""
        return self._markup

    _markup: dict[str, Any] | None = None

    @property
    def buttons(self) -> list[str]:
        """Flat list of the current inline keyboard's labels."""
        rows = (self._markup or {}).get("inline_keyboard", [])
        return [b["text"] for row in rows for b in row]

    @property
    def button_data(self) -> dict[str, str]:
        """Inline button label -> callback_data (buttons without callback_data are left out)."""
        rows = (self._markup or {}).get("inline_keyboard", [])
        return {b["text"]: b["callback_data"] for row in rows for b in row
                if "callback_data" in b}

    @property
    def reply_keyboard(self) -> list[str]:
        """Flat list of the reply keyboard's labels, or []."""
        rows = (self._markup or {}).get("keyboard", [])
        return [b["text"] for row in rows for b in row]

    @property
    def media_group_id(self) -> str | None:
        """Album id shared by the messages of one media group."""
        return self.raw.get("media_group_id")

    @property
    def location(self) -> tuple[float, float] | None:
        """(latitude, longitude) for location and venue messages."""
        loc = self.raw.get("location")
        return (loc["latitude"], loc["longitude"]) if loc else None

    @property
    def reply_to_message_id(self) -> int | None:
        """Id of the message this one replies to."""
        reply = self.raw.get("reply_to_message")
        return int(reply["message_id"]) if reply else None

    @property
    def file_ids(self) -> list[str]:
        """file_ids of the media in the message (largest photo size last)."""
        if "photo" in self.raw:
            return [p["file_id"] for p in self.raw["photo"]]
        for key in ("voice", "document", "sticker", "audio", "video", "animation"):
            if key in self.raw:
                return [self.raw[key]["file_id"]]
        return []

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else (self.sender.first_name if self.sender else "?")
        extra = f" buttons={self.buttons}" if self.buttons else ""
        return (f"<SimMessage {self.chat_id}/{self.message_id} {who} {self.kind} "
                f"{(self.text or '')[:60]!r}{extra}>")
