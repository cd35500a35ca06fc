namespace AgentCloud.Api.Features.Health;

public sealed record Response(string Status);
