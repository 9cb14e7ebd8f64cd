-- coopnoc schema 1: the inventory (sites, devices, members, lines) and events.
-- Times are INTEGER seconds since the Unix epoch, UTC. SQL kept portable to PostgreSQL
-- where it costs nothing (no SQLite-only types; AUTOINCREMENT avoided).

CREATE TABLE site (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    latitude    REAL,
    longitude   REAL
);

CREATE TABLE device (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    site          TEXT,
    kind          TEXT NOT NULL,
    address       TEXT,
    profile       TEXT,
    sys_descr     TEXT,
    sys_object_id TEXT,
    -- set when the device left the config; its history stays until retention removes it
    retired_at    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE member (
    id           INTEGER PRIMARY KEY,
    ref          TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email        TEXT,
    language     TEXT NOT NULL,
    -- 'email' or 'none': whether the member receives the monthly summary
    reports      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE line (
    id          INTEGER PRIMARY KEY,
    ref         TEXT NOT NULL UNIQUE,
    member_id   INTEGER REFERENCES member(id) ON DELETE SET NULL,
    -- 'fibre', 'radio' or 'port'
    kind        TEXT NOT NULL,
    -- the device it hangs on, when known or required by the match
    device      TEXT,
    -- how the line is found on its device: 'serial' (ONU), 'mac' (radio station),
    -- 'ifname' or 'ifalias' (a port); never ifIndex, which changes on reboot
    match_kind  TEXT NOT NULL,
    match_key   TEXT NOT NULL,
    description TEXT,
    state       TEXT NOT NULL DEFAULT 'unknown',
    state_since INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX line_match ON line (match_kind, match_key, COALESCE(device, ''));
CREATE INDEX line_member ON line (member_id);

CREATE TABLE event (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    -- 'line', 'device' or 'component'
    subject_kind TEXT NOT NULL,
    subject      TEXT NOT NULL,
    old_state    TEXT,
    new_state    TEXT NOT NULL,
    reason       TEXT,
    -- JSON: the values behind the change
    detail       TEXT
);
CREATE INDEX event_subject ON event (subject_kind, subject, at);
CREATE INDEX event_at ON event (at);
