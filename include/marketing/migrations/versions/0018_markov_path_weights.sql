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

-- The credit of a touch with removal effect `removal_effect` on a path of weight `weight` and
-- `touches` touches (rule 9): RE / Σ RE over the path's touches, or 1 / n when that sum is 0.
-- Null without a weight. Inlinable (plain SQL, not strict).
create function marts.markov_credit(removal_effect double precision, weight double precision, touches integer)
    returns double precision
    language sql immutable parallel safe
    return case when weight > 0 then removal_effect / weight else 1.0::double precision / touches end;

-- Each channel's credit on a path of each key of a fit, for people and tests to read; a channel
-- of the fit that is not on the path has a row too. The model's rule (sql/models/markov.sql)
-- and the daily restate (sql/markov_daily_sums.sql) join the two tables beside a path row (or a
-- day group) themselves: through this view the planner built the product of every key and
-- every channel first.
create view marts.markov_credits as
select
    w.conversion_type,
    w.period_start,
    w.path_key,
    e.channel,
    marts.markov_credit(e.removal_effect, w.weight, w.touches) as credit
from marts.markov_path_weights w
join marts.markov_removal_effects e on e.conversion_type = w.conversion_type and e.fit_start = w.period_start;

do $$
begin
    execute 'create view marts.attribution_credits as ' || (select attribution_credits from saved_views);
end
$$;
drop table saved_views;

delete from ops.attribution_state;
