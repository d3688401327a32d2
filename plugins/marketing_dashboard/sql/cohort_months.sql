-- The first and last cohort months the customer tables hold.
select min(cohort_month) as first_month, max(cohort_month) as last_month
from marts.cohort_value;
