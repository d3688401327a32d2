-- The conversion events of one event-source file version become conversion rows of that file
-- (same file and line), so they merge by the native rules: conversions.sql (first loaded
-- wins, converted with the rate of their day, queued for attribution).
insert into raw.conversions (
    file_id, line_number, conversion_id, occurred_at, anonymous_id, user_id, conversion_type, revenue, currency
)
select file_id, line_number, conversion_id, occurred_at, anonymous_id, user_id, conversion_type, revenue, currency
from {raw_table}
where file_id = %(file_id)s and conversion_id is not null;
