-- Customers bench (marketing.dev.customers_bench): `customers` people, each with a first purchase
-- in 2025 and `repeats` more purchases after it (3 in 100 are refunds), one first-touch path row per purchase
-- in marts.attribution_paths (the channel fixed per person), and a year of spend per channel.
-- Parameters: customers, repeats, channels (text[]), n_channels. random() is seeded by the caller.
create temp table bench_people as
select i as person,
       timestamptz '2025-01-01' + mod(hashint4(i)::bigint & 2147483647, 365 * 86400) * interval '1 second' as first_at,
       10 + 90 * power(mod(hashint4(i + 7)::bigint & 2147483647, 1000) / 1000.0, 2) as level  -- spend level
from generate_series(1, %(customers)s) as i;

insert into core.conversions (conversion_id, occurred_at, person_key, conversion_type, revenue, revenue_original,
                              currency, fx_rate, file_id, line_number)
select 'c' || p.person, p.first_at, 'u:' || p.person, 'purchase', round((p.level * (0.5 + random()))::numeric, 2),
       0, 'USD', 1, 1, 1
from bench_people p
union all
-- repeat buyers: some people buy often (the square skews the pick), most soon after their first
-- purchase (the square again: buying dies down, as customers drop out)
select 'r' || r.r, q.first_at + power(random(), 2) * (timestamptz '2026-01-01' - q.first_at), 'u:' || q.person,
       'purchase', round((q.level * (0.5 + random()))::numeric, 2) * case when random() < 0.03 then -1 else 1 end,
       0, 'USD', 1, 1, 1
from (select r, 1 + floor(%(customers)s * power(random(), 2))::int as person
      from generate_series(1, %(repeats)s) as r) as r
join bench_people q on q.person = r.person;

insert into marts.attribution_paths (slice, conversion_id, conversion_occurred_at, conversion_date, conversion_type,
    revenue, touchpoint_event_id, touch_occurred_at, channel, campaign, touch_position, path_length,
    last_non_direct, time_decay_credit, position_credit)
select 0, c.conversion_id, c.occurred_at, c.occurred_at::date, c.conversion_type, c.revenue, 't' || c.conversion_id,
       c.occurred_at - interval '1 hour', (%(channels)s::text[])[1 + mod(abs(hashtext(c.person_key)), %(n_channels)s)],
       null, 1, 1, true, 1, 1
from core.conversions c;

insert into core.ad_spend (date, source, medium, campaign, channel, spend, spend_original, currency, fx_rate, file_id)
select d::date, 's' || k, 'm', 'all', (%(channels)s::text[])[k], round((500 + random() * 1500)::numeric, 2), 0, 'USD', 1, 1
from generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') as d
cross join generate_series(1, %(n_channels)s) as k;
