"""Device logs for helpdesk and admins: filtered by action, status and date range, paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Device, DeviceLogEntry

PAGE_SIZE = 50
MAX_TEXT = 100


@dataclass(frozen=True)
class LogFilter:
    action: str = ""
    status: str = ""
    start: date | None = None
    end: date | None = None

    def args(self) -> dict[str, str]:
        """The filter as query arguments (empty ones left out)."""
        values = {
            "action": self.action,
            "status": self.status,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
        }
        return {k: v for k, v in values.items() if v}


def _date(value: str | None) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    return date.fromisoformat(value)


def parse(args) -> tuple[LogFilter, list[object]]:
    """A LogFilter from query arguments, and the errors (a bad field is ignored)."""
    errors: list[object] = []
    dates: dict[str, date | None] = {}
    for name in ("start", "end"):
        try:
            dates[name] = _date(args.get(name))
        except ValueError:
            dates[name] = None
            errors.append(_l("Enter dates as YYYY-MM-DD."))
    if dates["start"] and dates["end"] and dates["start"] > dates["end"]:
        errors.append(_l("The start date is after the end date."))
    log_filter = LogFilter(
        action=(args.get("action") or "").strip()[:MAX_TEXT],
        status=(args.get("status") or "").strip()[:MAX_TEXT],
        start=dates["start"],
        end=dates["end"],
    )
    return log_filter, errors


def query(device: Device, log_filter: LogFilter) -> sa.Select:
    """The device's entries matching the filter, newest first (dates inclusive, UTC)."""
    stmt = sa.select(DeviceLogEntry).where(DeviceLogEntry.device_id == device.id)
    if log_filter.action:
        stmt = stmt.where(DeviceLogEntry.action == log_filter.action)
    if log_filter.status:
        stmt = stmt.where(DeviceLogEntry.status == log_filter.status)
    if log_filter.start:
        since = datetime.combine(log_filter.start, time.min, tzinfo=UTC)
        stmt = stmt.where(DeviceLogEntry.created_at >= since)
    if log_filter.end:
        until = datetime.combine(log_filter.end + timedelta(days=1), time.min, tzinfo=UTC)
        stmt = stmt.where(DeviceLogEntry.created_at < until)
    return stmt.order_by(DeviceLogEntry.created_at.desc(), DeviceLogEntry.id.desc())


def page(device: Device, log_filter: LogFilter, number: int = 1):
    return db.paginate(
        query(device, log_filter), page=max(number, 1), per_page=PAGE_SIZE, error_out=False
    )


def choices(device: Device) -> tuple[list[str], list[str]]:
    """The actions and statuses present in the device's log (for the filter's menus)."""
    pairs = db.session.execute(
        sa.select(DeviceLogEntry.action, DeviceLogEntry.status)
        .where(DeviceLogEntry.device_id == device.id)
        .group_by(DeviceLogEntry.action, DeviceLogEntry.status)
    ).all()
    return sorted({action for action, _ in pairs}), sorted({status for _, status in pairs})


def entry_of(device: Device, entry_id: int) -> DeviceLogEntry | None:
    entry = db.session.get(DeviceLogEntry, entry_id)
    return entry if entry is not None and entry.device_id == device.id else None
