-- Cross-format (/v1/rewrite) calls record the format the client spoke beside the provider.
ALTER TABLE requests ADD COLUMN client_format TEXT;
