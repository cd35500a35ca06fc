using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddAgentCloudConfiguration();
builder.AddAgentCloudDatabase();
builder.AddApi();

var app = builder.Build();
app.UseApi();
app.MapDefaultEndpoints();
app.Run();
