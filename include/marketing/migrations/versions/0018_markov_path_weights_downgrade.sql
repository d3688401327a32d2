create temp table saved_views as
select pg_get_viewdef('marts.attribution_credits'::regclass) as attribution_credits;
drop view marts.attribution_credits;
drop view marts.markov_credits;
drop table marts.markov_path_weights;
drop function marts.markov_credit(double precision, double precision, integer);
create table marts.markov_credits (
    conversion_type text collate "C" not null,
    period_start    date             not null,
    path_key        numeric          not null,
    channel         text collate "C" not null,
    credit          double precision not null,
    primary key (conversion_type, period_start, path_key, channel)
);
do $$
begin
    execute 'create view marts.attribution_credits as ' || (select attribution_credits from saved_views);
end
$$;
drop table saved_views;
delete from ops.attribution_state;
