-- One synthetic day of core rows for the attribution benchmark, deterministic (hash-based).
-- Persons are drawn from a pool so that a person sees ~5 touches in 30 days at full volume.
with channels (n, channel, source, medium) as (
    values (0, 'Paid Search', 'google', 'cpc'), (1, 'Paid Social', 'facebook', 'paid_social'),
           (2, 'Display', 'criteo', 'display'), (3, 'Email', 'newsletter', 'email'),
           (4, 'Affiliates', 'partner', 'affiliate'), (5, 'Organic Search', 'google.com', 'organic'),
           (6, 'Direct', '(direct)', '(none)'), (7, 'Referral', 'blog.example.org', 'referral'),
           (8, 'Organic Social', 'facebook.com', 'referral'), (9, 'Paid Video', 'youtube', 'cpv')
),
touches as (
    select
        'd' || %(day)s || '-t' || g as event_id,
        %(first_day)s::timestamptz + make_interval(days => %(day)s)
            + make_interval(secs => mod(abs(hashint8(g * 7 + %(day)s)), 86400)) as occurred_at,
        'u:' || mod(abs(hashint8(g * 13 + %(day)s * 1000003)), %(persons)s) as person_key,
        mod(abs(hashint8(g * 17 + %(day)s)), 10) as channel_n,
        'campaign-' || mod(abs(hashint8(g * 19 + %(day)s)), 4) as campaign
    from generate_series(1, %(touchpoints)s) as g
),
inserted_touches as (
    insert into core.touchpoints (event_id, occurred_at, person_key, user_id, source, medium, campaign,
                                  channel, file_id, line_number)
    select t.event_id, t.occurred_at, t.person_key, substr(t.person_key, 3), c.source, c.medium,
        case when c.n < 5 or c.n = 9 then t.campaign end, c.channel, 0, 0
    from touches t join channels c on c.n = t.channel_n
    returning person_key, occurred_at
),
conversions as (
    insert into core.conversions (conversion_id, occurred_at, person_key, user_id, conversion_type, revenue,
                                  revenue_original, currency, fx_rate, file_id, line_number)
    select
        'd' || %(day)s || '-c' || g,
        %(first_day)s::timestamptz + make_interval(days => %(day)s)
            + make_interval(secs => mod(abs(hashint8(g * 23 + %(day)s)), 86400)),
        'u:' || mod(abs(hashint8(g * 29 + %(day)s * 1000033)), %(persons)s),
        null, 'purchase', rev, rev, 'USD', 1, 0, 0
    from generate_series(1, %(conversions)s) as g,
        lateral (select (5 + mod(abs(hashint8(g * 31 + %(day)s)), 20000) / 100.0)::numeric as rev) as r
    returning conversion_id
),
spend as (
    insert into core.ad_spend (date, source, medium, campaign, channel, spend, spend_original, currency,
                               fx_rate, file_id)
    select (%(first_day)s::date + %(day)s), c.source, c.medium, 'campaign-' || k, c.channel,
        1000 + k * 250, 1000 + k * 250, 'USD', 1, 0
    from channels c cross join generate_series(0, 3) as k
    where c.n < 5 or c.n = 9
    returning date
),
queued_touches as (
    insert into ops.attribution_queue (kind, key, since, file_id)
    select 'person', person_key, min(occurred_at), 0
    from inserted_touches
    where %(queue)s
    group by person_key
    returning 1
),
queued_conversions as (
    insert into ops.attribution_queue (kind, key, since, file_id)
    select 'conversion', conversion_id, null, 0
    from conversions
    where %(queue)s
    returning 1
)
insert into ops.attribution_queue (kind, key, since, file_id)
select distinct 'spend_date', date::text, null::timestamptz, 0
from spend
where %(queue)s;
