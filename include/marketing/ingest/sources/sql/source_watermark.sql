-- Move a source's watermark to the largest updated_at of the extract, in its transaction.
insert into ops.source_watermarks (source, watermark, file_id)
values (%(source)s, %(watermark)s, %(file_id)s)
on conflict (source) do update
    set watermark = excluded.watermark, file_id = excluded.file_id, updated_at = now();
