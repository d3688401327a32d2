-- The sums of the `markov` rows of the daily marts for the days of markov_dates (every day with
-- %(all_dates)s), under the fits as they are now (sql/markov_daily.sql writes them): from the
-- path rows' sums of marts.markov_day_paths, each group's rows having one credit, the model's
-- rule (sql/models/markov.sql): 1 without an eligible touch (no key), else the channel's
-- credit on a path of the key in the fit, none when there is no such credit or it is 0.
-- Σ credit = credit × path_rows (the same float sum to ~1e-15, not bit for bit); credit_rows =
-- path_rows with a credit; Σ revenue_credit(revenue, credit) over a group's rows is
-- revenue_credit(Σ revenue, credit) exactly: revenue_credit multiplies by an integer and by
-- 1e-18 in numeric, where products and sums are exact (sql/revenue_credit.sql).
create temp table markov_daily_sums on commit drop as
select d.conversion_date as date, d.channel, d.campaign, d.conversion_type,
    sum(m.credit * d.path_rows) as conversions,
    sum(marts.revenue_credit(d.revenue, m.credit)) as revenue,
    coalesce(sum(d.path_rows) filter (where m.credit is not null), 0)::bigint as credit_rows
from marts.markov_day_paths d
left join marts.markov_path_weights w
    on w.conversion_type = d.conversion_type
    and w.period_start = d.period_start
    and w.path_key = d.path_key
left join marts.markov_removal_effects e
    on e.conversion_type = d.conversion_type
    and e.fit_start = d.period_start
    and e.channel = d.channel
cross join lateral (
    select case when d.path_key is null then 1.0::double precision
                else nullif(marts.markov_credit(e.removal_effect, w.weight, w.touches), 0) end as credit
) as m
where %(all_dates)s or d.conversion_date = any(array(select date from markov_dates))
group by d.conversion_date, d.channel, d.campaign, d.conversion_type;
