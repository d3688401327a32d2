-- markov: the share of the row's channel on a path of the row's key, in the fit of its conversion.
left join marts.markov_credits as markov
    on markov.conversion_type = p.conversion_type
    and markov.period_start = p.markov_period
    and markov.path_key = p.markov_key
    and markov.channel = p.channel
