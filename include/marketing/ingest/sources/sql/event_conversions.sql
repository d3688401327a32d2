-- The conversion events of one event-source file version (%(feed)s: ga4 or segment) become
-- conversion rows of that file (same file and line), so they merge by the native rules:
-- conversions.sql (the earliest-ranked live file wins, converted with the rate of their day, queued for
-- attribution). The branch of the other source is dropped when the statement is planned.
insert into raw.conversions (
    file_id, line_number, conversion_id, occurred_at, anonymous_id, user_id, conversion_type, revenue, currency
)
select file_id, line_number, conversion_id, occurred_at, anonymous_id, user_id, conversion_type, revenue, currency
from raw.ga4
where %(feed)s = 'ga4' and file_id = %(file_id)s and conversion_id is not null
union all
select file_id, line_number, conversion_id, occurred_at, anonymous_id, user_id, conversion_type, revenue, currency
from raw.segment
where %(feed)s = 'segment' and file_id = %(file_id)s and conversion_id is not null;
