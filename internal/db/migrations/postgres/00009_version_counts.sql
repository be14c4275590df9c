-- +goose Up
-- How many versions each object has, kept exact by triggers in the same
-- transaction as every insert, delete or move of a version (history.Record,
-- the retention job, bulk loads alike): a history page reads its total
-- here in O(1) instead of counting a history that only grows. The triggers
-- run once per statement over its transition table, so a bulk insert or a
-- retention batch touches each object's counter once.
CREATE TABLE version_counts (
    entity_type TEXT NOT NULL,
    object_uuid UUID NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (entity_type, object_uuid)
);

INSERT INTO version_counts (entity_type, object_uuid, n)
SELECT entity_type, object_uuid, COUNT(*) FROM versions GROUP BY entity_type, object_uuid;

-- +goose StatementBegin
CREATE FUNCTION versions_count_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO version_counts AS c (entity_type, object_uuid, n)
    SELECT entity_type, object_uuid, COUNT(*) FROM added GROUP BY entity_type, object_uuid
    ORDER BY entity_type, object_uuid
    ON CONFLICT (entity_type, object_uuid) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION versions_count_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE version_counts c SET n = c.n - r.n
    FROM (SELECT entity_type, object_uuid, COUNT(*) AS n FROM removed GROUP BY entity_type, object_uuid) r
    WHERE c.entity_type = r.entity_type AND c.object_uuid = r.object_uuid;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION versions_count_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only versions whose object changed move (ids never change).
    UPDATE version_counts c SET n = c.n - m.n
    FROM (SELECT o.entity_type, o.object_uuid, COUNT(*) AS n FROM removed o JOIN added a ON a.id = o.id
          WHERE (a.entity_type, a.object_uuid) IS DISTINCT FROM (o.entity_type, o.object_uuid)
          GROUP BY o.entity_type, o.object_uuid) m
    WHERE c.entity_type = m.entity_type AND c.object_uuid = m.object_uuid;
    INSERT INTO version_counts AS c (entity_type, object_uuid, n)
    SELECT a.entity_type, a.object_uuid, COUNT(*) FROM removed o JOIN added a ON a.id = o.id
    WHERE (a.entity_type, a.object_uuid) IS DISTINCT FROM (o.entity_type, o.object_uuid)
    GROUP BY a.entity_type, a.object_uuid
    ORDER BY a.entity_type, a.object_uuid
    ON CONFLICT (entity_type, object_uuid) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER versions_count_insert AFTER INSERT ON versions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION versions_count_add();
CREATE TRIGGER versions_count_delete AFTER DELETE ON versions
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION versions_count_remove();
CREATE TRIGGER versions_count_move AFTER UPDATE ON versions
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION versions_count_move();

-- +goose Down
DROP TRIGGER versions_count_move ON versions;
DROP TRIGGER versions_count_delete ON versions;
DROP TRIGGER versions_count_insert ON versions;
DROP FUNCTION versions_count_move();
DROP FUNCTION versions_count_remove();
DROP FUNCTION versions_count_add();
DROP TABLE version_counts;
