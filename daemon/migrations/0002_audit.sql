-- coopnoc schema 2: an audit log of acts on personal data (imports, erasures, exports),
-- kept without the personal data itself, so the cooperative can show what was done and when.

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_at ON audit (at);
