"""Helpers for the attribution tests: core rows written directly or through the real ingest,
and the marts read back in a form that is easy to compare."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from marketing.attribution.models import MODELS  # noqa: F401 - the tests import it from here
from marketing.config import AttributionParams

UTC = timezone.utc
T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # the conversion time most tests use
DAY = timedelta(days=1)
DEFAULTS = AttributionParams()

# utm values (or a referrer) that the packaged GA4 rules classify into each channel.
UTM = {
    "Paid Search": {"utm_source": "google", "utm_medium": "cpc"},
    "Email": {"utm_source": "newsletter", "utm_medium": "email"},
    "Organic Search": {"referrer": "https://www.google.com/"},
    "Referral": {"referrer": "https://blog.example.org/post"},
    "Direct": {},
}

_file_ids = iter(range(1000, 10**9))


# ---- core rows, written directly (with the queue rows a load would add) ---------------------

def add_touch(cur, event_id, occurred_at, person="u:alice", channel="Paid Search", campaign=None, *, queue=True):
    """A core touchpoint of `person` (a person key); queued for attribution like a load does."""
    file_id = next(_file_ids)
    cur.execute(
        "insert into core.touchpoints (event_id, occurred_at, person_key, channel, campaign, file_id, line_number)"
        " values (%s, %s, %s, %s, %s, %s, 1)",
        (event_id, occurred_at, person, channel, campaign, file_id),
    )
    if queue:
        cur.execute(
            "insert into ops.attribution_queue (kind, key, since, file_id) values ('person', %s, %s, %s)",
            (person, occurred_at, file_id),
        )


def add_conversion(cur, conversion_id, occurred_at, person="u:alice", revenue=0, conversion_type="purchase", *, queue=True):
    """A core conversion (revenue already in the reporting currency); queued like a load does."""
    file_id = next(_file_ids)
    cur.execute(
        "insert into core.conversions (conversion_id, occurred_at, person_key, conversion_type, revenue,"
        " revenue_original, currency, fx_rate, file_id, line_number)"
        " values (%s, %s, %s, %s, %s, %s, 'USD', 1, %s, 1)",
        (conversion_id, occurred_at, person, conversion_type, Decimal(str(revenue)), Decimal(str(revenue)), file_id),
    )
    if queue:
        cur.execute(
            "insert into ops.attribution_queue (kind, key, file_id) values ('conversion', %s, %s)",
            (conversion_id, file_id),
        )


def add_spend(cur, day, channel, campaign, amount, source="google", medium="cpc", *, queue=True):
    """A core ad_spend row (in the reporting currency); queued like a load does."""
    file_id = next(_file_ids)
    cur.execute(
        "insert into core.ad_spend (date, source, medium, campaign, channel, spend, spend_original, currency,"
        " fx_rate, file_id) values (%s, %s, %s, %s, %s, %s, %s, 'USD', 1, %s)",
        (day, source, medium, campaign, channel, Decimal(str(amount)), Decimal(str(amount)), file_id),
    )
    if queue:
        cur.execute(
            "insert into ops.attribution_queue (kind, key, file_id) values ('spend_date', %s, %s)",
            (day.isoformat(), file_id),
        )


# ---- reading the marts back ------------------------------------------------------------------

def credits(conn, conversion_id):
    """{model: [(touchpoint_event_id, channel, credit), ...] in path order} of one conversion."""
    with conn.cursor() as cur:
        cur.execute(
            "select model, touchpoint_event_id, channel, credit from marts.attribution_credits"
            " where conversion_id = %s order by model, touch_position nulls first",
            (conversion_id,),
        )
        rows = cur.fetchall()
    conn.commit()
    out = defaultdict(list)
    for model, event_id, channel, credit in rows:
        out[model].append((event_id, channel, credit))
    return dict(out)


def weights(conn, conversion_id):
    """{model: {touchpoint_event_id: credit}} of one conversion."""
    return {
        model: {event_id: credit for event_id, _, credit in rows}
        for model, rows in credits(conn, conversion_id).items()
    }


def query(conn, statement, params=None):
    """All rows of a query (then commit, so no transaction stays open)."""
    with conn.cursor() as cur:
        cur.execute(statement, params)
        rows = cur.fetchall()
    conn.commit()
    return rows


MART_QUERIES = {
    "attribution_credits": (
        "select conversion_id, model, touchpoint_event_id, channel, campaign, touch_occurred_at, touch_position,"
        " conversion_occurred_at, conversion_date, conversion_type, revenue, credit, revenue_credit"
        " from marts.attribution_credits order by conversion_id, model, touch_position nulls first"
    ),
    "channel_attribution_daily": (
        "select date, model, channel, conversion_type, conversions, revenue, credit_rows"
        " from marts.channel_attribution_daily order by date, model, channel, conversion_type"
    ),
    "roas_daily": (
        "select date, model, channel, campaign, spend, attributed_conversions, attributed_revenue, roas, cpa,"
        " spend_rows, credit_rows from marts.roas_daily order by date, model, channel, campaign nulls first"
    ),
    "assisted_conversions_daily": (
        "select date, channel, conversion_type, last_touch_conversions, last_touch_value, first_touch_conversions,"
        " first_touch_value, assisted_conversions, assisted_value"
        " from marts.assisted_conversions_daily order by date, channel, conversion_type"
    ),
    "conversion_paths_daily": (
        "select date, conversion_type, path, path_length, conversions, revenue, days_to_conversion"
        " from marts.conversion_paths_daily order by date, conversion_type, path, path_length"
    ),
    "markov_removal_effects": (
        "select period_start, conversion_type, channel, removal_effect, share, converting_journeys, null_journeys,"
        " conversion_probability from marts.markov_removal_effects order by conversion_type, period_start, channel"
    ),
    # The model's own state: what the next incremental run starts from must equal a rebuild's too.
    "markov_journeys": (
        "select person_key, conversion_type, period_start, channels, touched_at"
        " from marts.markov_journeys order by person_key, conversion_type, period_start"
    ),
    "markov_transitions": (
        "select conversion_type, period_start, from_state, to_state, journeys"
        " from marts.markov_transitions order by conversion_type, period_start, from_state, to_state"
    ),
    "funnel_daily": (
        "select date, model, channel, step, step_index, conversions, revenue, credit_rows"
        " from marts.funnel_daily order by date, model, channel, step"
    ),
}


def marts(conn):
    """Every row of the marts, sorted: {table: [row, ...]}."""
    return {table: query(conn, statement) for table, statement in MART_QUERIES.items()}


def assert_same_marts(actual, expected, tol=1e-9):
    """The two snapshots hold the same rows; floats may differ by `tol` (sums in another order)."""
    for table in MART_QUERIES:
        got, want = actual[table], expected[table]
        assert len(got) == len(want), f"{table}: {len(got)} rows, expected {len(want)}"
        for row_got, row_want in zip(got, want):
            assert len(row_got) == len(row_want)
            for a, b in zip(row_got, row_want):
                if isinstance(a, float) or isinstance(b, float):
                    same = a is not None and b is not None and math.isclose(a, b, rel_tol=tol, abs_tol=tol)
                    assert same, f"{table}: {row_got} != {row_want}"
                else:
                    assert a == b, f"{table}: {row_got} != {row_want}"


# ---- landing records (write them with landing.Landing) -------------------------------------

def touch_record(event_id, occurred_at, channel="Paid Search", *, anonymous_id=None, user_id=None, campaign=None):
    """A touchpoint landing record that the GA4 rules classify into `channel`."""
    record = {"event_id": event_id, "occurred_at": occurred_at.isoformat()}
    if anonymous_id:
        record["anonymous_id"] = anonymous_id
    if user_id:
        record["user_id"] = user_id
    record.update(UTM[channel])
    if campaign:
        record["utm_campaign"] = campaign
    return record


def conversion_record(conversion_id, occurred_at, *, anonymous_id=None, user_id=None, revenue=0, currency="USD",
                      conversion_type="purchase"):
    """A conversion landing record."""
    record = {"conversion_id": conversion_id, "occurred_at": occurred_at.isoformat(),
              "conversion_type": conversion_type, "revenue": revenue, "currency": currency}
    if anonymous_id:
        record["anonymous_id"] = anonymous_id
    if user_id:
        record["user_id"] = user_id
    return record
