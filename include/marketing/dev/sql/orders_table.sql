-- The sample's orders table in the source database of `make demo SOURCE=orders` (docs/sources.md, rule 9).
create table if not exists orders (
    conversion_id   text        primary key,
    occurred_at     timestamptz not null,
    user_id         text,
    anonymous_id    text,
    conversion_type text        not null,
    revenue         numeric,
    currency        text,
    updated_at      timestamptz not null default now()
);
