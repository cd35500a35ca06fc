using FastEndpoints;

namespace AgentCloud.Api.Features.Auth.Logout;

public sealed class Request
{
    /// <summary>true: end every session of the user, not just this token.</summary>
    [QueryParam]
    public bool? All { get; init; }
}
