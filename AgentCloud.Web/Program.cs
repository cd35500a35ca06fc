using AgentCloud.Web;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddWebConsole();

var app = builder.Build();
app.UseWebConsole();
app.MapDefaultEndpoints();
app.MapWebConsole();
app.Run();
