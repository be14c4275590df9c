-- +goose Up
-- How many versions each object has, kept exact by triggers in the same
-- transaction as every insert, delete or move of a version (history.Record,
-- the retention job, bulk loads alike): a history page reads its total
-- here in O(1) instead of counting a history that only grows.
CREATE TABLE version_counts (
    entity_type TEXT NOT NULL,
    object_uuid TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (entity_type, object_uuid)
) WITHOUT ROWID;

INSERT INTO version_counts (entity_type, object_uuid, n)
SELECT entity_type, object_uuid, COUNT(*) FROM versions GROUP BY entity_type, object_uuid;

-- +goose StatementBegin
CREATE TRIGGER versions_count_insert AFTER INSERT ON versions
BEGIN
    INSERT INTO version_counts (entity_type, object_uuid, n) VALUES (NEW.entity_type, NEW.object_uuid, 1)
    ON CONFLICT (entity_type, object_uuid) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER versions_count_delete AFTER DELETE ON versions
BEGIN
    UPDATE version_counts SET n = n - 1 WHERE entity_type = OLD.entity_type AND object_uuid = OLD.object_uuid;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER versions_count_move AFTER UPDATE OF entity_type, object_uuid ON versions
WHEN NEW.entity_type IS NOT OLD.entity_type OR NEW.object_uuid IS NOT OLD.object_uuid
BEGIN
    UPDATE version_counts SET n = n - 1 WHERE entity_type = OLD.entity_type AND object_uuid = OLD.object_uuid;
    INSERT INTO version_counts (entity_type, object_uuid, n) VALUES (NEW.entity_type, NEW.object_uuid, 1)
    ON CONFLICT (entity_type, object_uuid) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER versions_count_move;
DROP TRIGGER versions_count_delete;
DROP TRIGGER versions_count_insert;
DROP TABLE version_counts;
