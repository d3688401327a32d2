-- The conversion types the assisted-conversions mart holds, for the page's choice of type.
select distinct conversion_type
from marts.assisted_conversions_daily
order by conversion_type
