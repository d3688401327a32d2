-- Customer value (docs/customers.md). Every table is recomputed by each customers run, in one
-- transaction: readers see the previous run's rows or the new ones.

-- One row per customer: the BG/NBD and Gamma-Gamma inputs and what the fitted models predict.
create table marts.customer_value (
    person_key           text collate "C" primary key,
    first_conversion_id  text             not null,
    first_purchase_at    timestamptz      not null,
    cohort_month         date             not null, -- month of the first purchase (REPORTING_TIMEZONE)
    frequency            integer          not null, -- purchase days after the first
    recency_days         integer          not null, -- first to last purchase day
    t_days               integer          not null, -- first purchase day to as_of's day
    monetary_value       numeric          not null, -- mean revenue of the repeat days (0 without any)
    value_to_date        numeric          not null, -- Σ revenue of every purchase, refunds included
    p_alive              double precision,          -- null when the models could not be fitted
    expected_purchases   double precision,          -- over the next CLV_HORIZON_DAYS
    expected_order_value double precision,          -- Gamma-Gamma conditional mean
    predicted_value      double precision,          -- expected_purchases × expected_order_value
    predicted_ltv        double precision           -- value_to_date + predicted_value
);
create index customer_value_cohort on marts.customer_value (cohort_month);

-- A customer's acquisition: the credits of their first purchase under ACQUISITION_MODEL, summed
-- per channel (a customer counts as `credit` new customers of each channel).
create table marts.customer_acquisition (
    person_key   text collate "C"  not null,
    channel      text collate "C"  not null,
    credit       double precision  not null,
    cohort_month date              not null,
    primary key (person_key, channel)
);
create index customer_acquisition_channel on marts.customer_acquisition (cohort_month, channel);

-- (cohort_month, channel, age_days): realised value of the cohort's mature customers.
-- Value per customer over any rows = Σ value / Σ mature_customers.
create table marts.cohort_value (
    cohort_month     date             not null,
    channel          text collate "C" not null,
    age_days         integer          not null,
    customers        double precision not null, -- Σ credit of the cohort's customers
    mature_customers double precision not null, -- Σ credit of those mature at age_days
    value            numeric          not null, -- Σ credit × value at age_days, mature customers only
    value_per_customer double precision generated always as (
        case when mature_customers > 0 then (value / mature_customers::numeric)::double precision end
    ) stored,
    primary key (cohort_month, channel, age_days)
);

-- (month, channel): new customers, spend, CAC and the cohort's predicted LTV. A row exists when
-- the channel had new customers or spend that month.
create table marts.channel_acquisition_monthly (
    month                      date             not null,
    channel                    text collate "C" not null,
    new_customers              double precision not null, -- Σ credit
    spend                      numeric          not null, -- every campaign of the channel; 0 when none
    cac                        double precision generated always as (
                                   case when new_customers <> 0 then spend::double precision / new_customers end
                               ) stored,                  -- null when there are no new customers
    predicted_ltv_per_customer double precision,          -- Σ credit × predicted_ltv / Σ credit
    ltv_to_cac                 double precision generated always as (
                                   case when new_customers <> 0 and spend <> 0
                                       then predicted_ltv_per_customer / (spend::double precision / new_customers) end
                               ) stored,                  -- null when cac is 0 or null
    primary key (month, channel)
);

-- One row per customers run: when, on what data, with which settings, and the fitted parameters.
create table ops.customer_runs (
    run_id      bigint generated always as identity primary key,
    started_at  timestamptz not null,
    finished_at timestamptz not null,
    as_of       timestamptz,
    customers   bigint      not null,
    params      jsonb       not null,
    fit         jsonb       not null -- parameters of both models, or why they were not fitted
);
