-- coopnoc schema 3: usage accounting.
-- Bytes are INTEGER (SQLite stores up to 2^63-1: 9.2 EB, ample for any line). Times are
-- seconds (or milliseconds where named _ms) since the Unix epoch, UTC; days and months are the
-- cooperative's local calendar ('YYYY-MM-DD', 'YYYY-MM'), with their UTC start stored beside.

-- The last counter sample of each line and direction, written in the same transaction as the
-- slots it fed: after a restart (even a crash) the next sample continues from it.
CREATE TABLE usage_counter (
    line_id       INTEGER NOT NULL REFERENCES line(id) ON DELETE CASCADE,
    -- 0 download (to the member), 1 upload (from the member)
    direction     INTEGER NOT NULL,
    -- 0 when the device only gives per-PON counters: the line is not measured on its own
    per_line      INTEGER NOT NULL,
    at_ms         INTEGER,
    -- the counter value as the device gave it (a Counter64 above 2^63 is stored bit-cast)
    value         INTEGER,
    -- 32 or 64
    width         INTEGER,
    uptime        INTEGER,
    discontinuity INTEGER,
    PRIMARY KEY (line_id, direction)
) WITHOUT ROWID;

-- Fine usage: one row per line and UTC hour; `slots` holds the twelve 5-minute slots (bytes
-- and covered milliseconds per direction, varint-encoded); the totals are beside for queries.
CREATE TABLE usage_fine (
    hour             INTEGER NOT NULL,
    line_id          INTEGER NOT NULL REFERENCES line(id) ON DELETE CASCADE,
    down_bytes       INTEGER NOT NULL,
    up_bytes         INTEGER NOT NULL,
    down_covered_ms  INTEGER NOT NULL,
    up_covered_ms    INTEGER NOT NULL,
    slots            BLOB NOT NULL,
    PRIMARY KEY (hour, line_id)
) WITHOUT ROWID;
CREATE INDEX usage_fine_line ON usage_fine (line_id, hour);

-- Daily per line, rebuilt from usage_fine (whole day replaced at once). member_id is the line's
-- member when the day was rolled up: erasing the member removes the rows.
CREATE TABLE usage_daily (
    line_id          INTEGER NOT NULL REFERENCES line(id) ON DELETE CASCADE,
    day              TEXT NOT NULL,
    member_id        INTEGER REFERENCES member(id) ON DELETE CASCADE,
    day_start        INTEGER NOT NULL,
    -- 82800, 86400 or 90000 (DST days)
    period_s         INTEGER NOT NULL,
    down_bytes       INTEGER NOT NULL,
    up_bytes         INTEGER NOT NULL,
    down_peak_bytes  INTEGER NOT NULL,
    up_peak_bytes    INTEGER NOT NULL,
    down_covered_ms  INTEGER NOT NULL,
    up_covered_ms    INTEGER NOT NULL,
    PRIMARY KEY (line_id, day)
) WITHOUT ROWID;
CREATE INDEX usage_daily_member ON usage_daily (member_id, day);
CREATE INDEX usage_daily_day ON usage_daily (day);

-- Monthly per member, rebuilt from usage_daily. Completeness = covered_ms / expected_ms
-- (expected: every measured line of the member, both directions, over the month so far).
CREATE TABLE usage_monthly (
    member_id     INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
    month         TEXT NOT NULL,
    month_start   INTEGER NOT NULL,
    period_s      INTEGER NOT NULL,
    lines         INTEGER NOT NULL,
    down_bytes    INTEGER NOT NULL,
    up_bytes      INTEGER NOT NULL,
    peak_bytes    INTEGER NOT NULL,
    covered_ms    INTEGER NOT NULL,
    expected_ms   INTEGER NOT NULL,
    rolled_at     INTEGER NOT NULL,
    PRIMARY KEY (member_id, month)
) WITHOUT ROWID;

-- Anonymous cooperative-wide aggregates (what reports compare a member with). No member or
-- line in them: they stay when a member is erased.
CREATE TABLE usage_coop_daily (
    day          TEXT PRIMARY KEY,
    lines        INTEGER NOT NULL,
    down_bytes   INTEGER NOT NULL,
    up_bytes     INTEGER NOT NULL,
    peak_bytes   INTEGER NOT NULL,
    covered_ms   INTEGER NOT NULL
);
CREATE TABLE usage_coop_monthly (
    month               TEXT PRIMARY KEY,
    members             INTEGER NOT NULL,
    down_bytes          INTEGER NOT NULL,
    up_bytes            INTEGER NOT NULL,
    peak_bytes          INTEGER NOT NULL,
    median_member_bytes INTEGER NOT NULL
);

-- When a membership ended: monthly totals are kept this long plus [retention]
-- monthly-after-membership, then pruned.
ALTER TABLE member ADD COLUMN left_at INTEGER;
