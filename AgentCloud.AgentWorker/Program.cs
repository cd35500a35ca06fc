using AgentCloud.AgentWorker;
using AgentCloud.Shared.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddAgentCloudConfiguration();
builder.AddAgentCloudDatabase();
builder.AddAgentWorker();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapAgentWorkerEndpoints();
app.Run();
