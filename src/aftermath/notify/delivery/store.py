"""The outbox tables (migration 0003): one row per notice, and the addresses never to mail again.

A notice row is written once, fully rendered, before anything is sent; its ``status`` then moves
``pending -> claimed -> sent`` (or ``retry``, ``failed``, ``bounced``, ``moved_to_post``); post and
substitute notices start ``printed`` or ``drafted``, regulator drafts ``drafted`` until marked sent.
"""

from __future__ import annotations

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aftermath.case.store import Base

STATUSES = ("pending", "claimed", "retry", "sent", "failed", "bounced", "moved_to_post", "printed", "drafted")


class NoticeRow(Base):
    """One notice: to whom, by which channel and why, its rendered bytes, and where its delivery stands."""

    __tablename__ = "notices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(Text)
    duties: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    ambiguous: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    next_attempt_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    done_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reply: Mapped[str] = mapped_column(Text, default="")


class SuppressionRow(Base):
    """An address that failed permanently or bounced: never mailed again; its person moves to post."""

    __tablename__ = "notice_suppressions"
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(32))
