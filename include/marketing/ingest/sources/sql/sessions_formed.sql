-- The touches of the sessions just formed, classified; filled by COPY, read by sessions_merge.sql.
create temp table formed (
    event_id     text,
    device_id    text,
    occurred_at  timestamptz,
    anonymous_id text,
    user_id      text,
    source       text,
    medium       text,
    campaign     text,
    channel      text,
    file_id      bigint,
    line_number  integer,
    events       integer
) on commit drop;
