using AgentCloud.Api.Infrastructure;

namespace AgentCloud.Api.Features.Users;

/// <summary>A user as the API shows it: never the password hash.</summary>
public sealed record UserResponse(int Id, string Username, string Email, DateTime? CreatedAt, DateTime? UpdatedAt)
{
    public static UserResponse From(UserRow row) =>
        new(row.Id, row.Username, row.Email, row.CreatedAt.AsUtc(), row.UpdatedAt.AsUtc());
}
