-- A restated rates file: every (date, currency) that its old or new version carries is taken
-- again from the live files (the latest file wins, then its last line). A key that no live
-- file carries keeps its rate: loaded amounts depend on it. fx_rates.sql applies them.
create temp table incoming_rates on commit drop as
with restated_keys as (
    select distinct date, currency
    from raw.fx_rates
    where file_id in (%(previous_file_id)s, %(file_id)s)
)
select distinct on (r.date, r.currency) r.date, r.currency, r.rate, r.file_id
from raw.fx_rates r
join restated_keys k using (date, currency)
join ops.live_files f on f.file_id = r.file_id
order by r.date, r.currency, f.rank collate "C" desc, r.line_number desc;
