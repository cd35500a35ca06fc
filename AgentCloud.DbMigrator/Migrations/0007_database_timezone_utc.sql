-- TIMESTAMP columns hold UTC wall time: make UTC the default for every session, not only ours.

DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'UTC');
END;
$$;
