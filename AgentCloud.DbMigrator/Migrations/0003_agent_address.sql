-- Each agent's uAgents address (agent1…, 65 characters). NULL until the agent gets its identity.

ALTER TABLE agents ADD COLUMN address VARCHAR(65) NULL;

CREATE UNIQUE INDEX agents_address_key ON agents (address) WHERE address IS NOT NULL;
