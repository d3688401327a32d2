-- Restate the `markov` rows of the daily marts for the days of markov_dates (every day with
-- %(all_dates)s) from markov_daily_sums (the run's sums of those days' path rows under the new
-- fits): channel_attribution_daily's and funnel_daily's rows are replaced, roas_daily's keep
-- their spend and get their attribution side anew (final conversion types only, as for every model).
delete from marts.channel_attribution_daily d
where d.model = %(model)s
  and (%(all_dates)s or d.date = any(array(select date from markov_dates)));

insert into marts.channel_attribution_daily (date, model, channel, conversion_type, conversions, revenue, credit_rows)
select date, %(model)s, channel, conversion_type, sum(conversions), sum(revenue), sum(credit_rows)
from markov_daily_sums
group by date, channel, conversion_type
having sum(credit_rows) > 0;

update marts.roas_daily r
set attributed_conversions = 0, attributed_revenue = 0, credit_rows = 0
where r.model = %(model)s
  and (%(all_dates)s or r.date = any(array(select date from markov_dates)))
  and (r.credit_rows <> 0 or r.attributed_revenue <> 0 or r.attributed_conversions <> 0);

insert into marts.roas_daily as r (
    date, model, channel, campaign, spend, attributed_conversions, attributed_revenue, spend_rows, credit_rows
)
select date, %(model)s, channel, nullif(campaign, ''), 0, sum(conversions), sum(revenue), 0, sum(credit_rows)
from markov_daily_sums
where conversion_type = any(%(final_conversion_types)s::text[])
group by date, channel, nullif(campaign, '')
having sum(credit_rows) > 0
on conflict (date, model, channel, coalesce(campaign, '')) do update
    set attributed_conversions = excluded.attributed_conversions,
        attributed_revenue = excluded.attributed_revenue,
        credit_rows = excluded.credit_rows;

delete from marts.roas_daily r
where r.model = %(model)s
  and (%(all_dates)s or r.date = any(array(select date from markov_dates)))
  and r.spend_rows = 0 and r.credit_rows = 0;

-- The funnel (docs/assists.md): the FUNNEL_STEPS types' rows of channel_attribution_daily.
delete from marts.funnel_daily d
where d.model = %(model)s
  and (%(all_dates)s or d.date = any(array(select date from markov_dates)));

insert into marts.funnel_daily (date, model, channel, step, step_index, conversions, revenue, credit_rows)
select d.date, d.model, d.channel, d.conversion_type, array_position(%(funnel_steps)s::text[], d.conversion_type::text),
    d.conversions, d.revenue, d.credit_rows
from marts.channel_attribution_daily d
where %(maintain_assists)s
  and d.model = %(model)s
  and (%(all_dates)s or d.date = any(array(select date from markov_dates)))
  and d.conversion_type = any(%(funnel_steps)s::text[]);

drop table markov_daily_sums;
