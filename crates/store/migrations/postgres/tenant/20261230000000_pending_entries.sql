-- An execution's index entries are kept outside the database until its commit (the store's
-- pending module): they were written here and read back once.
DROP TABLE activity_keys_pending;
