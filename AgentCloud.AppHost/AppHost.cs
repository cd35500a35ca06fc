using Microsoft.Extensions.Hosting;
using AgentCloud.AppHost;
using AgentCloud.AppHost.Postgres;

var builder = DistributedApplication.CreateBuilder(args);

var db = builder.AddAgentsDatabase();
const int workerReplicas = 2;
var connections = ConnectionBudget.From(builder.Configuration);
var jwtSecretKey = builder.AddGeneratedSecret(ResourceNames.JwtSecretKey);
var backendAgentSeed = builder.AddGeneratedSecret(ResourceNames.BackendAgentSeed);

var migrator = builder.AddProject<Projects.AgentCloud_DbMigrator>(ResourceNames.DbMigrator)
    .WithReference(db)
    .WaitFor(db);

builder.AddProject<Projects.AgentCloud_Api>(ResourceNames.Api)
    .WithReference(db)
    .WaitForCompletion(migrator)
    .WithEnvironment("JWT_SECRET_KEY", jwtSecretKey)
    .WithEnvironment("BACKEND_AGENT_SEED", backendAgentSeed)
    .WithEnvironment("Database__MaxPoolSize", connections.ApiPool.ToString(System.Globalization.CultureInfo.InvariantCulture))
    .WithModelConnections()
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");

var worker = builder.AddProject<Projects.AgentCloud_AgentWorker>(ResourceNames.AgentWorker)
    .WithReplicas(workerReplicas)
    .WithReference(db)
    .WaitForCompletion(migrator)
    .WithEnvironment("BACKEND_AGENT_SEED", backendAgentSeed)
    .WithEnvironment("Database__MaxPoolSize",
        connections.WorkerPool(workerReplicas).ToString(System.Globalization.CultureInfo.InvariantCulture))
    .WithModelConnections()
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");
// What remote uAgents are told: the replicas' shared (external) endpoint.
worker.WithEnvironment("AgentWorker__Uagents__PublicUrl", ReferenceExpression.Create($"{worker.GetEndpoint("http")}/submit"));
if (builder.Environment.IsDevelopment())
{
    // Local peers (a Python uAgent on this machine, a second deployment): outside development, loopback is refused.
    worker.WithEnvironment("AgentWorker__Outbound__AllowedDestinations__0", "127.0.0.0/8")
        .WithEnvironment("AgentWorker__Outbound__AllowedDestinations__1", "::1");
}

builder.Build().Run();
