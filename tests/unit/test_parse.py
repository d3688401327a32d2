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


def test_bad_gzip_is_unreadable():
    with pytest.raises(UnreadableFile, match="gzip"):
        read_text(b"not gzip", gzipped=True)


def test_copy_line_escapes_once_per_line_and_marks_nulls():
    from marketing.ingest.parse import copy_line

    assert copy_line(("a", None, "b\tc", "d\\e\nf")) == "a\t\\N\tb\\tc\td\\\\e\\nf"
    assert copy_line(("x\x01y", None)) == "x\x01y\t\\N"  # a value holding the marker itself


def test_a_value_with_nul_is_rejected_not_loaded():
    from marketing.ingest.parse import copy_line

    with pytest.raises(Reject, match="NUL"):
        copy_line(("a\x00b", "c"))
    assert copy_field("a\x00b") == "a\ufffdb"


# ---- limits (README, Bad input): what Postgres or the marts would refuse later is refused here

def _touch(**fields) -> str:
    import json

    return json.dumps({"event_id": "e", "occurred_at": "2026-01-01T10:00:00Z", "anonymous_id": "a", **fields},
                      ensure_ascii=False)


def _conversion(**fields) -> str:
    import json

    return json.dumps({"conversion_id": "c", "occurred_at": "2026-01-01T10:00:00Z", "user_id": "u",
                       "conversion_type": "purchase", **fields})


@pytest.mark.parametrize("field", ["event_id", "anonymous_id", "user_id", "utm_source", "utm_medium",
                                   "utm_campaign", "utm_term", "utm_content", "referrer", "page_url"])
def test_a_touchpoint_text_field_beyond_its_limit_is_rejected_naming_the_limit(field):
    from marketing.ingest.parse import TEXT_LIMITS

    limit = TEXT_LIMITS[field]
    FEED_RULES["touchpoints"].row(_touch(**{field: "x" * limit}), CTX)  # at the limit: fine
    with pytest.raises(Reject, match=f"{field} longer than {limit} characters"):
        FEED_RULES["touchpoints"].row(_touch(**{field: "x" * (limit + 1)}), CTX)


def test_ten_kilobyte_event_id_and_four_kilobyte_campaign_are_rejected():
    with pytest.raises(Reject, match="event_id longer than"):
        FEED_RULES["touchpoints"].row(_touch(event_id="e" * 10_000), CTX)
    with pytest.raises(Reject, match="utm_campaign longer than"):
        FEED_RULES["touchpoints"].row(_touch(utm_campaign="c" * 4_000), CTX)
    with pytest.raises(Reject, match="utm_campaign longer than"):  # read from the page URL
        FEED_RULES["touchpoints"].row(_touch(page_url="https://x.example/?utm_campaign=" + "c" * 4_000), CTX)
    with pytest.raises(Reject, match="conversion_id longer than"):
        FEED_RULES["conversions"].row(_conversion(conversion_id="c" * 10_000), CTX)
    with pytest.raises(Reject, match="campaign longer than"):
        FEED_RULES["ad_spend"].row(
            {"date": "2026-01-01", "source": "g", "medium": "cpc", "campaign": "c" * 4000, "spend": "1",
             "currency": "USD"}, CTX)


@pytest.mark.parametrize("moment", ["9999-12-31T23:30:00-05:00", "0001-01-01T00:30:00+01:00",
                                    "1969-12-31T23:59:59Z", "2200-01-01T00:00:00Z"])
def test_timestamps_outside_the_documented_range_are_rejected(moment):
    with pytest.raises(Reject, match="occurred_at out of range"):
        FEED_RULES["touchpoints"].row(_touch(occurred_at=moment), CTX)
    with pytest.raises(Reject, match="occurred_at out of range"):
        FEED_RULES["conversions"].row(_conversion(occurred_at=moment, revenue=10, currency="USD"), CTX)


def test_timestamps_at_the_ends_of_the_range_are_kept():
    assert FEED_RULES["touchpoints"].row(_touch(occurred_at="1970-01-01T00:00:00Z"), CTX)[1].startswith("1970-01-01")
    assert FEED_RULES["touchpoints"].row(_touch(occurred_at="2199-12-31T23:59:59Z"), CTX)[1].startswith("2199-12-31")


@pytest.mark.parametrize("day", ["9999-12-31", "1900-01-01"])
def test_csv_dates_outside_the_range_are_rejected(day):
    with pytest.raises(Reject, match="date out of range"):
        FEED_RULES["fx_rates"].row({"date": day, "currency": "EUR", "rate": "1.1"}, CTX)


@pytest.mark.parametrize("revenue", ['"1e400"', "1e400", "123456789012345678901234567890", '"-1e15"'])
def test_revenue_beyond_the_amount_range_is_rejected(revenue):
    import json

    line = _conversion(currency="USD")[:-1] + f', "revenue": {revenue}}}'
    json.loads(line.replace("1e400", "1")) if "1e400" in revenue else json.loads(line)
    with pytest.raises(Reject, match="revenue"):
        FEED_RULES["conversions"].row(line, CTX)


@pytest.mark.parametrize("revenue", ["1.123456789", "0.30000000000000004", "1.23456789012345678901234567890"])
def test_revenue_with_more_decimals_than_the_documented_precision_is_rejected(revenue):
    line = _conversion(currency="USD")[:-1] + f', "revenue": {revenue}}}'
    with pytest.raises(Reject, match="revenue has more than 8 decimal places"):
        FEED_RULES["conversions"].row(line, CTX)


@pytest.mark.parametrize("revenue", ["999999999999999.99999999", "-123456789012345.12345678", "1E+3", "19.990"])
def test_revenue_within_range_and_precision_is_exact_not_rounded_through_a_float(revenue):
    from decimal import Decimal

    line = _conversion(currency="USD")[:-1] + f', "revenue": {revenue}}}'
    assert Decimal(FEED_RULES["conversions"].row(line, CTX)[5]) == Decimal(revenue)
    quoted = _conversion(currency="USD")[:-1] + f', "revenue": "{revenue}"}}'
    assert Decimal(FEED_RULES["conversions"].row(quoted, CTX)[5]) == Decimal(revenue)


def _spend(spend: str) -> dict:
    return {"date": "2026-01-01", "source": "google", "medium": "cpc", "campaign": "b", "spend": spend,
            "currency": "USD"}


@pytest.mark.parametrize("spend, reason", [
    ("1e400", "spend out of range"), ("-0.01", "spend is negative"), ("1.000000001", "more than 8 decimal places"),
])
def test_spend_beyond_range_precision_or_below_zero_is_rejected(spend, reason):
    with pytest.raises(Reject, match=reason):
        FEED_RULES["ad_spend"].row(_spend(spend), CTX)


def test_zero_spend_and_exact_large_spend_are_kept():
    assert FEED_RULES["ad_spend"].row(_spend("0"), CTX)[4] == "0"
    assert FEED_RULES["ad_spend"].row(_spend("999999999999999.99999999"), CTX)[4] == "999999999999999.99999999"


@pytest.mark.parametrize("rate", ["0", "-1", "1e9", "1.0000000000000000001"])
def test_fx_rates_beyond_range_or_precision_are_rejected(rate):
    with pytest.raises(Reject, match="rate"):
        FEED_RULES["fx_rates"].row({"date": "2026-01-01", "currency": "EUR", "rate": rate}, CTX)


@pytest.mark.parametrize("count", ["-1", "9223372036854775808", "1e3"])
def test_impressions_beyond_bigint_or_negative_are_rejected(count):
    with pytest.raises(Reject, match="impressions"):
        FEED_RULES["ad_spend"].row({**_spend("1"), "impressions": count}, CTX)


def test_an_extra_field_holding_nul_is_rejected_not_sent_to_jsonb():
    with pytest.raises(Reject, match="NUL"):
        FEED_RULES["touchpoints"].row(_touch(note="a\x00b"), CTX)


# ---- splitting a file into lines and records --------------------------------------------------

@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c", "\r"])
def test_jsonl_lines_end_at_newline_only(separator):
    first = _touch(event_id="e1").replace('"e1"', f'"e1{separator}x"')  # the character as it is, unescaped
    text = first + "\n" + _touch(event_id="e2") + "\r\n"
    found = list(records(FEED_RULES["touchpoints"], text))
    assert [(n, raw) for n, raw, _ in found] == [(1, first), (2, _touch(event_id="e2"))]
    if separator >= " ":
        assert FEED_RULES["touchpoints"].row(found[0][2], CTX)[0] == f"e1{separator}x"
    else:  # JSON wants control characters escaped: the one line is rejected, whole
        with pytest.raises(Reject, match="not valid JSON"):
            FEED_RULES["touchpoints"].row(found[0][2], CTX)


def test_csv_records_are_parsed_as_csv_with_quoted_newlines():
    text = ('date,source,medium,campaign,spend,currency\r\n'
            '2026-01-01,google,cpc,"spring\nsale, 2026",5,USD\r\n'
            '2026-01-01,google,cpc,"say ""hi""\u2028",6,USD\n')
    found = list(records(FEED_RULES["ad_spend"], text))
    assert [(n, fields["campaign"]) for n, _, fields in found] == [(2, "spring\nsale, 2026"), (4, 'say "hi"\u2028')]
    assert found[0][1] == '2026-01-01,google,cpc,"spring\nsale, 2026",5,USD'


def test_a_csv_record_with_a_broken_quote_is_one_bad_record():
    text = 'date,currency,rate\n2026-01-01,EUR,"1.1\n'
    found = list(records(FEED_RULES["fx_rates"], text))
    assert len(found) == 1 and isinstance(found[0][2], Reject)


def test_invalid_utf8_rejects_only_the_lines_that_do_not_decode():
    data = (_touch(event_id="e1") + "\n" + '{"event_id": "caf\xe9"}' + "\n" + _touch(event_id="e3") + "\n")
    raw = data.encode("utf-8").replace("caf\xc3\xa9".encode("latin-1"), b"caf\xe9")
    text = read_text(raw, gzipped=False)
    found = list(records(FEED_RULES["touchpoints"], text))
    assert [n for n, _, _ in found] == [1, 2, 3]
    assert isinstance(found[1][2], Reject) and "not UTF-8" in str(found[1][2])
    assert found[1][1] == '{"event_id": "caf\\xe9"}'  # the raw text shows the byte
    assert FEED_RULES["touchpoints"].row(found[2][2], CTX)[0] == "e3"


def test_invalid_utf8_in_a_csv_record_rejects_that_record_only():
    raw = b"date,currency,rate\n2026-01-01,EUR,1.1\n2026-01-02,\xff\xfe,1.2\n2026-01-03,EUR,1.3\n"
    found = list(records(FEED_RULES["fx_rates"], read_text(raw, gzipped=False)))
    assert [n for n, _, _ in found] == [2, 3, 4]
    assert isinstance(found[1][2], Reject) and not isinstance(found[2][2], Reject)
