-- The rates a new file sets: a later row for the same (date, currency) restates it (README, The
-- landing zone: the latest live file wins, then its last line). Keys whose rate comes from a
-- file that ranks after this one keep it. fx_rates.sql applies them.
create temp table incoming_rates on commit drop as
select i.*
from (
    select distinct on (date, currency) date, currency, rate, file_id
    from raw.fx_rates
    where file_id = %(file_id)s
    order by date, currency, line_number desc
) i
left join core.fx_rates fx using (date, currency)
left join ops.live_files f on f.file_id = fx.file_id
where fx.date is null or f.file_id is null or f.rank collate "C" < %(rank)s collate "C";
