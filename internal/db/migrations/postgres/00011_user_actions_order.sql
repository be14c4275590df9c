-- +goose Up
-- A user's action list in its default order (urgency, due date with none
-- last, newest), straight from the index: the database reads the page's
-- rows and stops, instead of reading all the user's visible actions and
-- sorting them. (due_date IS NULL) is how db.OrderBy writes "none last",
-- on both engines; SQLite cannot take NULLS LAST from an index. It
-- replaces user_actions_user, whose order the list no longer uses; the
-- user's other look-ups start with user_id in user_actions_visible.
CREATE INDEX user_actions_order ON user_actions (user_id, is_silenced, urgency_rank, (due_date IS NULL), due_date, created DESC, id DESC);
DROP INDEX user_actions_user;

-- +goose Down
CREATE INDEX user_actions_user ON user_actions (user_id, urgency_rank, due_date, id);
DROP INDEX user_actions_order;
