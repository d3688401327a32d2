-- The removal effects of the `markov` fits of the period that holds %(end)s (the last fit that
-- starts on or before it; with ATTRIBUTION_MARKOV_PERIOD = all, the one fit), per conversion
-- type and channel (docs/data_driven.md, §4), of the types %(conversion_types)s (empty: all).
select
    conversion_type,
    period_start,
    channel,
    removal_effect,
    share,
    converting_journeys,
    null_journeys,
    conversion_probability
from marts.markov_removal_effects
where fit_start = (select max(fit_start) from marts.markov_removal_effects where fit_start <= %(end)s::date)
  and (cardinality(%(conversion_types)s::text[]) = 0 or conversion_type = any(%(conversion_types)s::text[]))
order by conversion_type, removal_effect desc, channel
