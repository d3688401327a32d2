-- Spend in core that a new file restates: the same (date, source, medium, campaign), loaded from
-- a file that ranks before it (README, The landing zone: the latest live file wins, then its
-- last line). Those rows leave core, their days queued, before ad_spend.sql puts the file's in.
with incoming as (
    select distinct on (date, source, medium, campaign) date, source, medium, campaign, line_number
    from raw.ad_spend
    where file_id = %(file_id)s
    order by date, source, medium, campaign, line_number desc
),
beaten as (
    delete from core.ad_spend s
    using incoming i, ops.live_files f
    where (s.date, s.source, s.medium, s.campaign) = (i.date, i.source, i.medium, i.campaign)
      and f.file_id = s.file_id
      and f.rank collate "C" < %(rank)s collate "C"
    returning s.date
)
insert into ops.attribution_queue (kind, key, since, file_id)
select distinct 'spend_date', date::text, null::timestamptz, %(file_id)s
from beaten;
