-- credit × revenue, exact in numeric: the credit is taken to 18 decimals (a double has fewer
-- significant digits), which is cheaper than converting the double to numeric. The credits view
-- and the daily marts both use it, so their sums agree to the last digit. Loaded by the
-- migrations (create or replace): a change to it is a new migration that loads this file.
create or replace function marts.revenue_credit(revenue numeric, credit double precision) returns numeric
    language sql immutable strict parallel safe
    return revenue * (credit * 1e18::double precision)::bigint * 0.000000000000000001;
