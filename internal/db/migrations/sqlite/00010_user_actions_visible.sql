-- +goose Up
-- What a user's list count and summary read about their actions, in the
-- order they use it: the user and silenced-or-not to find the rows, type
-- and urgency to group them (in index order, no sort), and the dates the
-- filter and the overdue count look at. Both are then answered from this
-- index alone, without a row look-up per action: user-action lists and
-- summaries are the pages everyone opens first.
CREATE INDEX user_actions_visible ON user_actions (user_id, is_silenced, action_type, urgency, silenced_until, due_date);

-- +goose Down
DROP INDEX user_actions_visible;
