-- marts.attribution_credits reads marts.markov_credits (the model's join): it is put back as it
-- was, over the view of the same name and columns, at the end.
create temp table saved_views as
select pg_get_viewdef('marts.attribution_credits'::regclass) as attribution_credits;
drop view marts.attribution_credits;
drop table marts.markov_credits;

-- Per path key of a fit: Σ RE(channel) over the path's touches (`weight`) and how many touches
-- it has; a fit with no removal effects (no converting journey) has none.
create table marts.markov_path_weights (
    conversion_type text collate "C" not null,
    period_start    date             not null,
    path_key        numeric          not null,
    weight          double precision not null,
    touches         integer          not null check (touches > 0),
    primary key (conversion_type, period_start, path_key)
);

-- The credit of a touch of `channel` on a path of `path_key` in a fit (rule 9): RE(channel) /
-- Σ RE over the path's touches, or 1 / n when that sum is 0. The model's rule
-- (sql/models/markov.sql) joins it beside a path row, by all four keys; a channel of the fit
-- that is not on the path has a row here too, which no path row of the key joins.
create view marts.markov_credits as
select
    w.conversion_type,
    w.period_start,
    w.path_key,
    e.channel,
    case when w.weight > 0 then e.removal_effect / w.weight else 1.0::double precision / w.touches end as credit
from marts.markov_path_weights w
join marts.markov_removal_effects e on e.conversion_type = w.conversion_type and e.fit_start = w.period_start;

do $$
begin
    execute 'create view marts.attribution_credits as ' || (select attribution_credits from saved_views);
end
$$;
drop table saved_views;

delete from ops.attribution_state;
