-- Valid lines of a file version whose id core already held (touchpoints, conversions: the first
-- loaded wins), so the load skipped them. Counted per file so a run can say so.
alter table ops.load_manifest add column if not exists rows_skipped integer not null default 0;
