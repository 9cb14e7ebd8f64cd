-- coopnoc schema 4: line state and levels.
-- The state's reason (the line table already holds state and since), per-line threshold
-- overrides, and the optical/radio levels of the last weeks as hourly minima and maxima.

ALTER TABLE line ADD COLUMN state_reason TEXT;
-- JSON: {"optical-rx-min-dbm": -29.0, ...}; NULL = the [lines] thresholds of the config
ALTER TABLE line ADD COLUMN thresholds TEXT;

-- One row per line, level and UTC day: 24 hourly (min, max) pairs packed as little-endian
-- i16 hundredths of a dB (i16 minimum = no reading that hour), 96 bytes. A year of 10,000
-- lines with two levels is ~80 MB; a row per reading would be ten times that.
CREATE TABLE line_level (
    line_id INTEGER NOT NULL REFERENCES line(id) ON DELETE CASCADE,
    -- 1 rx, 2 tx, 3 olt-rx, 4 signal, 5 snr
    metric  INTEGER NOT NULL,
    -- days since the Unix epoch, UTC
    day     INTEGER NOT NULL,
    hours   BLOB NOT NULL,
    PRIMARY KEY (line_id, metric, day)
) WITHOUT ROWID;
CREATE INDEX line_level_day ON line_level (day);
