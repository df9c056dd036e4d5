-- Stored responses fetched with the operator's shared key must belong to the caller.
CREATE INDEX requests_by_response ON requests (merchant_id, mode, response_id);
