-- What the assist and path sums need of a path row, flagged by the path pass itself
-- (attribution/sql/attribution_paths.sql), so that summing them takes no second sort of the paths:
-- - assists: the first touch of its channel on the path, before the last touch (docs/assists.md:
--   the channel assists the conversion, once however many of its touches come before);
-- - run_starts: a touch whose channel is not that of the touch before it (a path's label writes
--   a run of one channel once, with its count).
-- Rows written before have no flags: the state goes, so the next run is a full rebuild.
alter table marts.attribution_paths
    add column assists    boolean not null default false,
    add column run_starts boolean not null default false;

delete from ops.attribution_state;
