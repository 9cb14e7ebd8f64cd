-- coopnoc schema 5: the audit log names the person who acted (their Unix user, from the
-- control socket's peer credentials) rather than 'ctl'. Rows written before keep 'ctl' and
-- no uid; the daemon's own acts say 'coopnocd'.

ALTER TABLE audit ADD COLUMN actor_uid INTEGER;
