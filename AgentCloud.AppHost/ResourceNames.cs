namespace AgentCloud.AppHost;

public static class ResourceNames
{
    public const string Postgres = "postgres";
    public const string Database = "agentsdb";
    public const string DbMigrator = "db-migrator";
    public const string Api = "api";
    public const string AgentWorker = "agent-worker";
    public const string Web = "web";
    public const string JwtSecretKey = "jwt-secret-key";
    public const string BackendAgentSeed = "backend-agent-seed";
}
