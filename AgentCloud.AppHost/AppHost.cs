using Microsoft.Extensions.Hosting;
using AgentCloud.AppHost;
using AgentCloud.AppHost.Postgres;

var builder = DistributedApplication.CreateBuilder(args);

IResourceBuilder<IResourceWithConnectionString> db;
try
{
    db = builder.AddAgentsDatabase();
}
catch (ConfigurationProblem problem)
{
    Console.Error.WriteLine($"AgentCloud.AppHost: {problem.Message}");
    return ConfigurationProblem.ExitCode;
}

const int workerReplicas = 2;
var connections = ConnectionBudget.From(builder.Configuration);
var jwtSecretKey = builder.AddGeneratedSecret(ResourceNames.JwtSecretKey);
var backendAgentSeed = builder.AddGeneratedSecret(ResourceNames.BackendAgentSeed);

var migrator = builder.AddProject<Projects.AgentCloud_DbMigrator>(ResourceNames.DbMigrator)
    .WithReference(db)
    .WaitFor(db);

var api = builder.AddProject<Projects.AgentCloud_Api>(ResourceNames.Api)
    .WithReference(db)
    .WaitForCompletion(migrator)
    .WithEnvironment("JWT_SECRET_KEY", jwtSecretKey)
    .WithEnvironment("BACKEND_AGENT_SEED", backendAgentSeed)
    .WithEnvironment("Database__MaxPoolSize", connections.ApiPool.ToString(System.Globalization.CultureInfo.InvariantCulture))
    .WithModelConnections()
    .WithUAgentsSettings()
    .WithQuotaSettings()
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    // The dashboard's api resource links the interactive OpenAPI page and the document (Development only).
    .WithUrlForEndpoint("http", endpoint => new() { Url = $"{endpoint.Url}/swagger", DisplayText = "OpenAPI (Swagger UI)" })
    .WithUrlForEndpoint("http", endpoint => new() { Url = $"{endpoint.Url}/swagger/v1/swagger.json", DisplayText = "OpenAPI document" });

var worker = builder.AddProject<Projects.AgentCloud_AgentWorker>(ResourceNames.AgentWorker)
    .WithReplicas(workerReplicas)
    .WithReplicasInManifest()
    .WithReference(db)
    .WaitForCompletion(migrator)
    .WithEnvironment("BACKEND_AGENT_SEED", backendAgentSeed)
    .WithEnvironment("Database__MaxPoolSize",
        connections.WorkerPool(workerReplicas).ToString(System.Globalization.CultureInfo.InvariantCulture))
    .WithModelConnections()
    .WithUAgentsSettings()
    .WithQuotaSettings()
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");
// What remote uAgents are told: the replicas' shared (external) endpoint.
worker.WithEnvironment("UAgents__PublicUrl", ReferenceExpression.Create($"{worker.GetEndpoint("http")}/submit"));
if (builder.Environment.IsDevelopment())
{
    // Local peers (a Python uAgent on this machine, a second deployment) and the API's callbacks to a local receiver (webhooks,
    // A2A push): outside development, loopback is refused.
    foreach (var outbound in new IResourceBuilder<ProjectResource>[] { worker, api })
    {
        outbound.WithEnvironment("AgentWorker__Outbound__AllowedDestinations__0", "127.0.0.0/8")
            .WithEnvironment("AgentWorker__Outbound__AllowedDestinations__1", "::1");
    }
}

// The web console: a client of the API's public HTTP interface only (no database of its own).
builder.AddProject<Projects.AgentCloud_Web>(ResourceNames.Web)
    .WithReference(api)
    .WaitFor(api)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");

// Everything runs over plain HTTP on localhost: no resource terminates TLS, so the dashboard has no
// reason to ask for a trusted development certificate (its red banner would be a false alarm).
builder.WithoutDevelopmentCertificates();

builder.Build().Run();
return 0;
