-- The original design's schema, column for column. Later changes go in later migrations.

CREATE TABLE users (
    id            SERIAL PRIMARY KEY,
    username      VARCHAR(50) UNIQUE NOT NULL,
    email         VARCHAR(100) UNIQUE NOT NULL,
    password_hash VARCHAR(256) NOT NULL,
    created_at    TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at    TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE agents (
    id         SERIAL PRIMARY KEY,
    name       VARCHAR(100) NOT NULL,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    config     JSONB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE agent_logs (
    id        SERIAL PRIMARY KEY,
    agent_id  INTEGER REFERENCES agents(id) ON DELETE CASCADE,
    log_level VARCHAR(20),
    message   TEXT,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
