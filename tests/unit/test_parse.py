"""Line rules of the landing feeds, as pure functions."""

from datetime import date, timezone

import pytest

from marketing.ingest.channels import ChannelClassifier
from marketing.ingest.parse import FEED_RULES, FeedContext, Reject, UnreadableFile, copy_field, read_text, records

CTX = FeedContext(ChannelClassifier.load(), "USD", timezone.utc, frozenset({(date(2026, 1, 1), "EUR")}))


def test_copy_field_escapes_copy_text_specials():
    assert copy_field(None) == "\\N"
    assert copy_field("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"


def test_touchpoint_timestamp_is_normalised_to_iso_with_offset():
    row = FEED_RULES["touchpoints"].row('{"event_id": "e", "occurred_at": "2026-01-01T10:00:00+09:00", "user_id": "u"}', CTX)
    assert row[1] == "2026-01-01T10:00:00+09:00"


def test_revenue_keeps_cents_exactly():
    row = FEED_RULES["conversions"].row(
        '{"conversion_id": "c", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u", "conversion_type": "purchase",'
        ' "revenue": 19.99, "currency": "eur"}', CTX)
    assert row[5] == "19.99" and row[6] == "EUR"


def test_zero_revenue_needs_no_currency_and_no_rate():
    row = FEED_RULES["conversions"].row(
        '{"conversion_id": "c", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u", "conversion_type": "signup"}', CTX)
    assert row[5] == "0" and row[6] is None


def test_refunds_keep_their_sign():
    row = FEED_RULES["conversions"].row(
        '{"conversion_id": "c", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u", "conversion_type": "refund",'
        ' "revenue": -5.5, "currency": "USD"}', CTX)
    assert row[5] == "-5.5"


@pytest.mark.parametrize("value", ["NaN", "Infinity", True])
def test_non_finite_or_boolean_revenue_is_rejected(value):
    line = ('{"conversion_id": "c", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u", "conversion_type": "p",'
            f' "revenue": {value if value is True else repr(value).replace(chr(39), chr(34))}, "currency": "USD"}}')
    line = line.replace("True", "true")
    with pytest.raises(Reject):
        FEED_RULES["conversions"].row(line, CTX)


def test_csv_header_may_list_columns_in_any_order_and_case():
    fields = list(records(FEED_RULES["fx_rates"], "Rate,Date,Currency\n1.1,2026-01-01,EUR\n"))
    assert fields == [(2, "1.1,2026-01-01,EUR", {"rate": "1.1", "date": "2026-01-01", "currency": "EUR"})]


def test_a_csv_without_its_header_is_unreadable_before_any_row_is_read():
    with pytest.raises(UnreadableFile, match="header lacks"):
        records(FEED_RULES["ad_spend"], "2026-01-01,google,cpc,brand,5,USD\n")


def test_bad_gzip_and_non_utf8_are_unreadable():
    with pytest.raises(UnreadableFile, match="gzip"):
        read_text(b"not gzip", gzipped=True)
    with pytest.raises(UnreadableFile, match="UTF-8"):
        read_text("café".encode("latin-1"), gzipped=False)


def test_copy_line_escapes_once_per_line_and_marks_nulls():
    from marketing.ingest.parse import copy_line

    assert copy_line(("a", None, "b\tc", "d\\e\nf")) == "a\t\\N\tb\\tc\td\\\\e\\nf"
    assert copy_line(("x\x01y", None)) == "x\x01y\t\\N"  # a value holding the marker itself


def test_a_value_with_nul_is_rejected_not_loaded():
    from marketing.ingest.parse import copy_line

    with pytest.raises(Reject, match="NUL"):
        copy_line(("a\x00b", "c"))
    assert copy_field("a\x00b") == "a\ufffdb"
