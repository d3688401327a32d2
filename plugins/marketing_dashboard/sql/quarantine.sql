-- Rows held back in quarantine, and when the newest arrived.
select count(*) as rows, max(quarantined_at) as latest
from ops.quarantine
