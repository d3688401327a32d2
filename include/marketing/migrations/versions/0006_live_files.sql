-- A file is live while it is the newest loaded version of its path; core holds what the live
-- files say (README, The landing zone). Rows already in core keep the rules they were loaded by.
alter table ops.load_manifest
    add column live boolean not null default true,
    add column etag text; -- the object store's content tag at load (S3 ETag, GCS md5Hash), if any
update ops.load_manifest m
set live = false
where exists (select 1 from ops.load_manifest n where n.path = m.path and n.file_id > m.file_id);
create index load_manifest_live on ops.load_manifest (feed, checksum) where live;

-- Which line wins a key that several live files carry: the file's rank, then its line. A
-- file's rank is its path (so the folder date, then the name), except that byte-identical
-- live copies all rank at the earliest of their paths: a re-sent copy changes nothing.
create view ops.live_files as
select
    file_id,
    feed,
    path,
    min(path collate "C") over (partition by feed, checksum) as rank
from ops.load_manifest
where live;
