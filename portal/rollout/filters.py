"""The rollout dashboard's filters: a period of whole UTC days, a group and an enrollment type.

`parse_filter` reads them from a query string and refuses what is wrong with a
`FilterError` (a clear 400), never a server error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from ..domain import DomainError
from ..extensions import db
from ..models import EnrollmentType, Group

TYPES = (EnrollmentType.USER.value, EnrollmentType.DEVICE.value, EnrollmentType.MAM.value)
DEFAULT_DAYS = 30
MAX_DAYS = 731


class FilterError(DomainError):
    status = 400
    default_message = _l("Those filters are not valid.")


@dataclass(frozen=True)
class RolloutFilter:
    """The period (whole UTC days, `start` to `end` inclusive), a group and a type."""

    start: date
    end: date
    group_id: int | None = None
    enrollment_type: str | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_args(self) -> dict:
        """The query-string arguments that give these filters back."""
        args = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.group_id is not None:
            args["group"] = self.group_id
        if self.enrollment_type:
            args["type"] = self.enrollment_type
        return args


def _date(value: str | None, default: date, error) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise FilterError(error) from exc


def parse_filter(args, *, today: date | None = None) -> RolloutFilter:
    """Filters from a query string (`from`, `to`, `group`, `type`); FilterError if wrong."""
    today = today or datetime.now(UTC).date()
    end = _date(args.get("to"), today, _l("The end date is not a date (YYYY-MM-DD)."))
    start = _date(
        args.get("from"),
        end - timedelta(days=DEFAULT_DAYS - 1),
        _l("The start date is not a date (YYYY-MM-DD)."),
    )
    if start > end:
        raise FilterError(_l("The period starts after it ends."))
    if (end - start).days + 1 > MAX_DAYS:
        raise FilterError(_l("Choose a period of at most two years."))
    group_id = None
    raw_group = (args.get("group") or "").strip()
    if raw_group:
        if not raw_group.isdigit() or len(raw_group) > 12:
            raise FilterError(_l("That group does not exist (any more)."))
        group_id = int(raw_group)
        if db.session.get(Group, group_id) is None:
            raise FilterError(_l("That group does not exist (any more)."))
    kind = (args.get("type") or "").strip() or None
    if kind is not None and kind not in TYPES:
        raise FilterError(_l("Choose User Enrollment, Device Enrollment or app management."))
    return RolloutFilter(start, end, group_id, kind)
