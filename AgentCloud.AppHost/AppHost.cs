using AgentCloud.AppHost;
using AgentCloud.AppHost.Postgres;

var builder = DistributedApplication.CreateBuilder(args);

var db = builder.AddAgentsDatabase();
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
    .WithModelConnections()
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");

var worker = builder.AddProject<Projects.AgentCloud_AgentWorker>(ResourceNames.AgentWorker)
    .WithReplicas(2)
    .WithReference(db)
    .WaitForCompletion(migrator)
    .WithEnvironment("BACKEND_AGENT_SEED", backendAgentSeed)
    .WithModelConnections()
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");
// What remote uAgents are told: the replicas' shared (external) endpoint.
worker.WithEnvironment("AgentWorker__Uagents__PublicUrl", ReferenceExpression.Create($"{worker.GetEndpoint("http")}/submit"));

builder.Build().Run();
