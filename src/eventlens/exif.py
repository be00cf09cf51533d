"""What a photo says about itself: capture time, camera, lens and position, from its EXIF block.

Read from the header Pillow has already parsed to open the image (no pixels are decoded for
it). EXIF is written by cameras, phones and editors alike, so every value is checked: a
malformed one is left out, never an error for the image.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image

_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")
_MAX_TEXT = 100


@dataclass(frozen=True, slots=True)
class PhotoInfo:
    #: the first of DateTimeOriginal, DateTimeDigitized, DateTime that holds a real time, as
    #: the camera's local time, ``2024-07-14T15:02:11``, plus its offset (``+02:00``) when
    #: there is one; never shifted to UTC
    captured_at: str | None = None
    captured_from: str | None = None  # the tag it came from
    #: why an image with an EXIF block has no capture time
    no_capture_time: str | None = None
    make: str | None = None
    model: str | None = None
    lens: str | None = None
    latitude: float | None = None  # decimal degrees, north positive
    longitude: float | None = None  # east positive
    altitude: float | None = None  # metres above sea level

    def details(self) -> dict[str, Any]:
        """The record's ``findings["exif"]``: EXIF tag names, only the values present."""
        fields = {
            self.captured_from or "DateTimeOriginal": self.captured_at,
            "NoCaptureTime": self.no_capture_time, "Make": self.make, "Model": self.model,
            "LensModel": self.lens, "GPSLatitude": self.latitude,
            "GPSLongitude": self.longitude, "GPSAltitude": self.altitude,
        }  # fmt: skip
        return {name: value for name, value in fields.items() if value is not None}


def photo_info(image: Image.Image) -> PhotoInfo:
    """The EXIF facts of an opened image; an empty PhotoInfo when it has none or they are
    unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Corrupt EXIF data": the values are checked below
            exif = image.getexif()
            ifd = exif.get_ifd(ExifTags.IFD.Exif)
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # Pillow raises assorted errors on broken EXIF blocks
        return PhotoInfo()
    latitude = _coordinate(gps, ExifTags.GPS.GPSLatitude, ExifTags.GPS.GPSLatitudeRef, 90, "S")
    longitude = _coordinate(gps, ExifTags.GPS.GPSLongitude, ExifTags.GPS.GPSLongitudeRef, 180, "W")
    captured_at, captured_from, missing = _first_capture_time(exif, ifd)
    return PhotoInfo(
        captured_at=captured_at,
        captured_from=captured_from,
        no_capture_time=(missing or None) if len(exif) or len(ifd) else None,
        make=_text(exif.get(ExifTags.Base.Make)),
        model=_text(exif.get(ExifTags.Base.Model)),
        lens=_text(ifd.get(ExifTags.Base.LensModel)),
        latitude=latitude if longitude is not None else None,
        longitude=longitude if latitude is not None else None,
        altitude=_altitude(gps) if latitude is not None and longitude is not None else None,
    )


#: where the capture time is looked for, in this order: (tag, its offset tag, in the Exif IFD?)
CAPTURE_TAGS = (
    ("DateTimeOriginal", ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal, True),
    ("DateTimeDigitized", ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized,
     True),
    ("DateTime", ExifTags.Base.DateTime, ExifTags.Base.OffsetTime, False),
)  # fmt: skip


def _first_capture_time(
    exif: Image.Exif, ifd: dict[int, Any]
) -> tuple[str | None, str | None, str]:
    """(capture time, the tag it came from, why there is none): DateTimeOriginal, then
    DateTimeDigitized (a scan's or an editor's), then DateTime (IFD0's last change, which
    many cameras and scanners set to the capture time)."""
    blank: list[str] = []
    for name, tag, offset_tag, in_exif_ifd in CAPTURE_TAGS:
        source = ifd if in_exif_ifd else exif
        raw = source.get(tag)
        if raw is None:
            continue
        found = capture_time(raw, ifd.get(offset_tag))
        if found:
            return found, name, ""
        blank.append(name)
    if blank:
        return None, None, f"its EXIF {', '.join(blank)} is blank or not a real date"
    return None, None, "its EXIF has no date (DateTimeOriginal, DateTimeDigitized, DateTime)"


def capture_time(value: Any, offset: Any = None) -> str | None:
    """``2024:07:14 15:02:11`` (+ ``+02:00``) → ``2024-07-14T15:02:11+02:00``; None for blank
    or impossible dates (cameras write ``0000:00:00 00:00:00`` when the clock was never set)."""
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = _text(offset)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (zone if zone and _OFFSET.match(zone) else "")


def format_position(latitude: float, longitude: float, altitude: float | None = None) -> str:
    """``48.85837° N, 2.29448° E, 35 m``."""
    text = (
        f"{abs(latitude):.5f}° {'N' if latitude >= 0 else 'S'}, "
        f"{abs(longitude):.5f}° {'E' if longitude >= 0 else 'W'}"
    )
    return text + (f", {altitude:.0f} m" if altitude is not None else "")


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = "".join(c for c in value if c.isprintable()).strip()
    return cleaned[:_MAX_TEXT] or None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _coordinate(
    gps: dict[int, Any], tag: int, ref_tag: int, limit: float, negative: str
) -> float | None:
    parts = gps.get(tag)
    if not isinstance(parts, tuple | list) or len(parts) != 3:
        return None
    degrees, minutes, seconds = (_number(p) for p in parts)
    if degrees is None or minutes is None or seconds is None:
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if not 0 <= value <= limit:
        return None
    ref = _text(gps.get(ref_tag)) or ""
    return round(-value if ref.upper().startswith(negative) else value, 6)


def _altitude(gps: dict[int, Any]) -> float | None:
    altitude = _number(gps.get(ExifTags.GPS.GPSAltitude))
    if altitude is None or abs(altitude) > 100_000:
        return None
    below_sea = gps.get(ExifTags.GPS.GPSAltitudeRef) in (1, b"\x01")
    return round(-altitude if below_sea else altitude, 1)
