"""The course service's date strings, in and out."""

from datetime import UTC, datetime

import pytest

from legacy.dates import format_legacy, is_legacy_date, parse_legacy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-11-23 12:58:35:179+0000", datetime(2020, 11, 23, 12, 58, 35, 179000, tzinfo=UTC)),
        ("2020-11-23 18:28:35:179+0530", datetime(2020, 11, 23, 12, 58, 35, 179000, tzinfo=UTC)),
        ("2020-11-23 05:58:35:000-0700", datetime(2020, 11, 23, 12, 58, 35, tzinfo=UTC)),
    ],
)
def test_dates_parse_legacy_reads_the_offset(text: str, expected: datetime) -> None:
    assert parse_legacy(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2020-01-01",
        "2020-11-23T12:58:35.179Z",
        "2020-11-23 12:58:35:179",
        "2020-11-23 12:58:35.179+0000",
        "2020-13-23 12:58:35:179+0000",
        "2020-11-23 12:58:35:179+2400",
        "\uff12\uff10\uff12\uff10-11-23 12:58:35:179+0000",  # full-width digits
        "",
    ],
)
def test_dates_parse_legacy_refuses_other_formats(text: str) -> None:
    with pytest.raises(ValueError):
        parse_legacy(text)
    assert not is_legacy_date(text)


def test_dates_format_legacy_writes_utc_with_milliseconds() -> None:
    assert format_legacy(parse_legacy("2020-11-23 18:28:35:007+0530")) == (
        "2020-11-23 12:58:35:007+0000"
    )
    assert format_legacy(None) is None
    assert not is_legacy_date(1_600_000_000_000)
