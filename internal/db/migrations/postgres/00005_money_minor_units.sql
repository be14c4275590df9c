-- +goose Up
-- Plan prices move from numeric to integer minor units (cents), the type
-- SQLite's twin of this migration uses too, so that prices compare and sort
-- alike on both engines. NUMERIC(16,2) times 100 always fits a BIGINT
-- exactly.
ALTER TABLE plans ADD COLUMN unit_price_minor BIGINT NOT NULL DEFAULT 0
    CONSTRAINT plans_unit_price_minor_nonnegative CHECK (unit_price_minor >= 0);
UPDATE plans SET unit_price_minor = (unit_price * 100)::BIGINT;
ALTER TABLE plans DROP COLUMN unit_price;

-- Text that lists sort by compares byte-wise, as SQLite's BINARY collation
-- does. Left to the database default (en_US.UTF-8, ICU, ...), PostgreSQL
-- would sort "Zeta" after "alpha" and ignore punctuation, so the same
-- ?o=name gave another order than on SQLite. Equality is unchanged: both
-- collations are deterministic.
ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE "C",
                  ALTER COLUMN email TYPE TEXT COLLATE "C",
                  ALTER COLUMN full_name TYPE TEXT COLLATE "C";
ALTER TABLE customers ALTER COLUMN name TYPE TEXT COLLATE "C",
                      ALTER COLUMN slug TYPE TEXT COLLATE "C";
ALTER TABLE projects ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE role_assignments ALTER COLUMN role TYPE TEXT COLLATE "C";
ALTER TABLE offerings ALTER COLUMN name TYPE TEXT COLLATE "C",
                      ALTER COLUMN type TYPE TEXT COLLATE "C",
                      ALTER COLUMN state TYPE TEXT COLLATE "C";
ALTER TABLE plans ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE resources ALTER COLUMN name TYPE TEXT COLLATE "C",
                      ALTER COLUMN state TYPE TEXT COLLATE "C";
ALTER TABLE orders ALTER COLUMN state TYPE TEXT COLLATE "C",
                   ALTER COLUMN type TYPE TEXT COLLATE "C";

-- +goose Down
ALTER TABLE orders ALTER COLUMN state TYPE TEXT COLLATE "default",
                   ALTER COLUMN type TYPE TEXT COLLATE "default";
ALTER TABLE resources ALTER COLUMN name TYPE TEXT COLLATE "default",
                      ALTER COLUMN state TYPE TEXT COLLATE "default";
ALTER TABLE plans ALTER COLUMN name TYPE TEXT COLLATE "default";
ALTER TABLE offerings ALTER COLUMN name TYPE TEXT COLLATE "default",
                      ALTER COLUMN type TYPE TEXT COLLATE "default",
                      ALTER COLUMN state TYPE TEXT COLLATE "default";
ALTER TABLE role_assignments ALTER COLUMN role TYPE TEXT COLLATE "default";
ALTER TABLE projects ALTER COLUMN name TYPE TEXT COLLATE "default";
ALTER TABLE customers ALTER COLUMN name TYPE TEXT COLLATE "default",
                      ALTER COLUMN slug TYPE TEXT COLLATE "default";
ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE "default",
                  ALTER COLUMN email TYPE TEXT COLLATE "default",
                  ALTER COLUMN full_name TYPE TEXT COLLATE "default";

ALTER TABLE plans ADD COLUMN unit_price NUMERIC(16,2) NOT NULL DEFAULT 0;
UPDATE plans SET unit_price = unit_price_minor / 100.0;
ALTER TABLE plans DROP COLUMN unit_price_minor;
