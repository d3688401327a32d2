-- markov: the weight of the row's path key and the removal effect of the row's channel, in the
-- fit of its conversion (marts.markov_credit divides them).
left join marts.markov_path_weights as markov
    on markov.conversion_type = p.conversion_type
    and markov.period_start = p.markov_period
    and markov.path_key = p.markov_key
left join marts.markov_removal_effects as markov_effect
    on markov_effect.conversion_type = p.conversion_type
    and markov_effect.fit_start = p.markov_period
    and markov_effect.channel = p.channel
