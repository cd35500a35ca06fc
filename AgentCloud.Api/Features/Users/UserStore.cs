using AgentCloud.Shared.Hosting;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Users;

public sealed class UserRow
{
    public int Id { get; init; }
    public string Username { get; init; } = "";
    public string Email { get; init; } = "";
    public DateTime? CreatedAt { get; init; }
    public DateTime? UpdatedAt { get; init; }
}

public sealed class Credentials
{
    public int Id { get; init; }
    public string PasswordHash { get; init; } = "";
}

public sealed class UserStore(NpgsqlDataSource dataSource)
{
    private const string UserColumns = "id, username, email, created_at, updated_at";

    /// <summary>The new user, or null when the username or email (in any case) is taken.</summary>
    public async Task<UserRow?> CreateAsync(string username, string email, string passwordHash, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            // The unique constraints decide: of two concurrent signups for one name, exactly one commits.
            return await connection.QuerySingleAsync<UserRow>(new CommandDefinition(
                $"INSERT INTO users (username, email, password_hash) VALUES (@username, @email, @passwordHash) RETURNING {UserColumns}",
                new { username, email, passwordHash }, cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return null;
        }
    }

    public async Task<UserRow?> FindAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(
            $"SELECT {UserColumns} FROM users WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    public async Task<bool> ExistsAsync(int id, CancellationToken cancellationToken)
    {
        // Every authenticated request asks this: in a burst it queues for a connection rather than fail.
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = @id)", new { id }, cancellationToken: cancellationToken));
    }

    public async Task<Credentials?> FindCredentialsAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<Credentials>(new CommandDefinition(
            "SELECT id, password_hash FROM users WHERE username = @username", new { username }, cancellationToken: cancellationToken));
    }

    /// <summary>Replaces the hash only if it is still the one that was checked (a concurrent change wins).</summary>
    public async Task ReplacePasswordHashAsync(int id, string oldHash, string newHash, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET password_hash = @newHash WHERE id = @id AND password_hash = @oldHash",
            new { id, oldHash, newHash }, cancellationToken: cancellationToken));
    }
}
