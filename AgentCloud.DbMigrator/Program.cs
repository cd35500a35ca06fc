using AgentCloud.DbMigrator;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.AddDbMigrator();
builder.Build().Run();
