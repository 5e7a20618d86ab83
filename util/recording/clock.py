"""Clock times of detections: a recording's start from its file name, in a stated time zone.

File names: recorder style, ``SITE_20240501_053000.wav`` or ``20240501T053000.flac`` (eight digits of date,
six of time). AudioMoth names its files in UTC, so UTC is the default; Song Meters and most other recorders
name them in the local time they were set to: give that zone (``--timezone Europe/Berlin`` or ``+02:00``).
Times are written in ISO 8601 with their UTC offset, ``2024-05-01T05:30:01.250+00:00``, which R
(``lubridate::ymd_hms``) and Python (``datetime.fromisoformat``) read as they are.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from util.errors import UserError

TIMESTAMP = re.compile(r"(?<!\d)(\d{8})[_T-]?(\d{6})(?!\d)")   # SITE_20240501_053000 (recorder style)
OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_timezone(text: str) -> tzinfo:
    """'UTC', 'Z', '+10', '+10:00', '-0330', 'UTC+2' or an IANA name ('Europe/Berlin') -> a tzinfo."""
    value = text.strip()
    if value.upper() in ("UTC", "Z", "GMT", "0", "+0", "-0", "+00:00"):
        return timezone.utc
    match = OFFSET.match(value.upper())
    if match:
        sign = -1 if match.group(1) == "-" else 1
        hours, minutes = int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise UserError(f"--timezone {text}: an offset is at most +-14:00")
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"--timezone {text}: not a time zone; give UTC, an offset such as +10:00, or a name "
                        f"such as Europe/Berlin") from None


def recording_start_time(path: str, zone: str | tzinfo | None = None) -> datetime | None:
    """Start time from a recorder-style file name, or None.

    ``SITE_20240501_053000.wav`` -> 2024-05-01 05:30:00 in ``zone`` (a tzinfo or a name for
    :func:`parse_timezone`); naive when ``zone`` is None.
    """
    match = TIMESTAMP.search(os.path.splitext(os.path.basename(path))[0])
    if match is None:
        return None
    try:
        start = datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:  # eight and six digits that are not a date and a time
        return None
    if zone is None:
        return start
    return start.replace(tzinfo=parse_timezone(zone) if isinstance(zone, str) else zone)


def time_after(start: datetime, seconds: float) -> datetime:
    """``seconds`` after ``start`` in elapsed time (across a change to or from summer time too), in start's zone."""
    if start.tzinfo is None:
        return start + timedelta(seconds=seconds)
    return (start.astimezone(timezone.utc) + timedelta(seconds=seconds)).astimezone(start.tzinfo)


def format_datetime(moment: datetime | None) -> str:
    """'2024-05-01T05:30:01.250+00:00' (ISO 8601 to the millisecond, with the UTC offset when known); '' for None."""
    if moment is None:
        return ""
    return moment.isoformat(timespec="milliseconds")
