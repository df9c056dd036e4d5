-- Responses fetched again (background polls, resumed streams) report the same usage each time:
-- a response id is billed once per merchant and mode.
CREATE TABLE billed_responses (
    merchant_id  TEXT NOT NULL,
    mode         TEXT NOT NULL,
    response_id  TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    PRIMARY KEY (merchant_id, mode, response_id)
);
