drop table if exists raw.ga4, raw.segment, raw.orders, core.sessions, ops.source_watermarks;
delete from ops.quarantine where feed in ('ga4', 'segment', 'orders');
delete from ops.load_manifest where feed in ('ga4', 'segment', 'orders');
alter table ops.load_manifest drop constraint load_manifest_feed_check;
alter table ops.load_manifest add constraint load_manifest_feed_check
    check (feed in ('touchpoints', 'conversions', 'ad_spend', 'fx_rates'));
