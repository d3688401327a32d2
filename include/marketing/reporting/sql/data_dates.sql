-- The first and last day the marts hold results for (both null before the first run).
select min(date) as first_date, max(date) as last_date
from marts.roas_daily
