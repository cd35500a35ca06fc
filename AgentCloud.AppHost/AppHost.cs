var builder = DistributedApplication.CreateBuilder(args);

var postgres = builder.AddPostgres("postgres");
var db = postgres.AddDatabase("agentsdb");

var migrator = builder.AddProject<Projects.AgentCloud_DbMigrator>("db-migrator")
    .WithReference(db).WaitFor(db);

builder.AddProject<Projects.AgentCloud_Api>("api")
    .WithReference(db).WaitForCompletion(migrator);

builder.AddProject<Projects.AgentCloud_AgentWorker>("agent-worker")
    .WithReference(db).WaitForCompletion(migrator);

builder.Build().Run();
