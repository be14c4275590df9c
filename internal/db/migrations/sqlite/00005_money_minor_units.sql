-- +goose Up
-- Plan prices move from text (which SQLite compares as text: 10.50 sorted
-- before 9.00, unlike PostgreSQL's numeric) to integer minor units (cents),
-- which compare and sort alike on both engines and hold every amount the
-- API accepts (at most 12 integer digits and 2 decimals) exactly.
--
-- Earlier versions stored the amount as '<digits>.<two digits>' without an
-- upper bound. That text converts exactly by dropping the point. An amount
-- that does not have this shape, or that is too large for a 64-bit integer,
-- stops the migration instead of being rounded or clamped: the CHECK below
-- fails with a message naming the problem, before anything is changed.
-- Correct such plans (SELECT uuid, unit_price FROM plans) and migrate again.
CREATE TEMP TABLE heed_00005_guard (
    ok INTEGER CONSTRAINT "plans.unit_price holds an amount that is not a non-negative decimal with two decimals and at most 16 integer digits; correct those plans and migrate again" CHECK (ok = 1)
);
INSERT INTO heed_00005_guard (ok)
SELECT 0 FROM plans
WHERE NOT (unit_price NOT GLOB '*[^0-9.]*'
           AND unit_price GLOB '[0-9]*.[0-9][0-9]'
           AND instr(unit_price, '.') = length(unit_price) - 2
           AND length(unit_price) <= 19);
DROP TABLE heed_00005_guard;

ALTER TABLE plans ADD COLUMN unit_price_minor INTEGER NOT NULL DEFAULT 0
    CONSTRAINT plans_unit_price_minor_nonnegative CHECK (unit_price_minor >= 0);
UPDATE plans SET unit_price_minor = CAST(REPLACE(unit_price, '.', '') AS INTEGER);
ALTER TABLE plans DROP COLUMN unit_price;

-- +goose Down
ALTER TABLE plans ADD COLUMN unit_price TEXT NOT NULL DEFAULT '0.00';
UPDATE plans SET unit_price = printf('%d.%02d', unit_price_minor / 100, unit_price_minor % 100);
ALTER TABLE plans DROP COLUMN unit_price_minor;
